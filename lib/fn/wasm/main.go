// Package main is the WebAssembly build of the built-in functions that wrap Go libraries:
// apply-replacements (kustomize's replacement filter) and starlark (go.starlark.net). It is this
// project's own glue, built by scripts/build-fn-wasm.sh; lib/fn/runtimes/wasm.ts runs it in a worker.
//
// JavaScript calls pvctlProcessResourceList(function, resourceList, documents, wholeItems) and gets back
// {output, order, error, stderr}: output is the ResourceList (items and results) as YAML, order
// says which items are the input's, unchanged or edited (wholeItems: never edited, for tests).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// result is one entry of ResourceList.results, as the function SDK writes it.
type result struct {
	Message     string       `yaml:"message,omitempty"`
	Severity    string       `yaml:"severity,omitempty"`
	ResourceRef *resourceRef `yaml:"resourceRef,omitempty"`
	Field       *field       `yaml:"field,omitempty"`
	File        *file        `yaml:"file,omitempty"`
}

type resourceRef struct {
	APIVersion string `yaml:"apiVersion,omitempty"`
	Kind       string `yaml:"kind,omitempty"`
	Name       string `yaml:"name,omitempty"`
	Namespace  string `yaml:"namespace,omitempty"`
}

type field struct {
	Path string `yaml:"path,omitempty"`
}

type file struct {
	Path  string `yaml:"path,omitempty"`
	Index int    `yaml:"index,omitempty"`
}

// stderr is what the function writes to its standard error, as the catalog image would (set by a processor).
var stderr string

// processor runs one function over the items with its functionConfig; ok=false is the SDK's
// "function failure" (a non-zero exit).
type processor func(items []*yaml.RNode, config *yaml.RNode) (out []*yaml.RNode, results []result, ok bool)

var processors = map[string]processor{
	"apply-replacements": applyReplacements,
	"starlark":           runStarlark,
	"set-annotations":    setAnnotations,
	"set-image":          setImage,
	"apply-setters":      applySetters,
	"search-replace":     searchReplace,
}

// process reads a ResourceList, runs the named function and writes the ResourceList back. Items the
// function left node for node as they came are not written: `order` has, for each output item, the
// id annotation of the input item it still equals, {"id", "edits"} for one changed in a few
// places, or "" for the next item written, so the host neither parses nor patches what did not change.
//
// documents: items sent as the text they were read from (JSON, see withDocuments), to be placed
// among the ResourceList's items.
func process(name, input, documents string, wholeItems bool) (output string, order []any, failure string) {
	p, found := processors[name]
	if !found {
		return "", nil, fmt.Sprintf("no function %q in this build", name)
	}
	reader := &kio.ByteReader{Reader: strings.NewReader(input), OmitReaderAnnotations: true}
	items, err := reader.Read()
	if err != nil {
		return "", nil, "reading the ResourceList: " + err.Error()
	}
	if items, err = withDocuments(items, documents); err != nil {
		return "", nil, documentsUnreadable + err.Error()
	}
	stderr = ""
	before := make(map[string]*yaml.Node, len(items))
	for _, item := range items {
		if id := idOf(item); id != "" {
			before[id] = item.Copy().YNode()
		}
	}
	out, results, ok := safely(p, items, reader.FunctionConfig)
	written := out
	if ok {
		written, order = changedItems(out, before, wholeItems)
	}
	var buf bytes.Buffer
	writer := kio.ByteWriter{
		Writer:                &buf,
		KeepReaderAnnotations: true,
		WrappingAPIVersion:    kio.ResourceListAPIVersion,
		WrappingKind:          kio.ResourceListKind,
	}
	if len(results) > 0 {
		text, err := yaml.Marshal(results)
		if err != nil {
			return "", nil, err.Error()
		}
		node, err := yaml.Parse(string(text))
		if err != nil {
			return "", nil, err.Error()
		}
		writer.Results = node
	}
	if err := writer.Write(written); err != nil {
		return "", nil, "writing the ResourceList: " + err.Error()
	}
	if !ok {
		if stderr == "" {
			stderr = "failed to evaluate function: error: function failure"
		}
		return buf.String(), nil, "function failure\n" + stderr
	}
	return buf.String(), order, ""
}

// changedItems splits the output into the items to write and the order (see process): an item
// the function changed in a few places is an {"id", "edits"} entry instead (patch.go).
func changedItems(out []*yaml.RNode, before map[string]*yaml.Node, wholeItems bool) ([]*yaml.RNode, []any) {
	written := make([]*yaml.RNode, 0, len(out))
	order := make([]any, len(out))
	for i, item := range out {
		id := idOf(item)
		if original, found := before[id]; found {
			delete(before, id) // a second copy of the same input is a new item
			if sameNode(original, item.YNode()) {
				order[i] = id
				continue
			}
			if edits, ok := patchOf(original, item.YNode()); ok && !wholeItems {
				order[i] = map[string]any{"id": id, "edits": edits}
				continue
			}
		}
		order[i] = ""
		written = append(written, item)
	}
	return written, order
}

func idOf(item *yaml.RNode) string {
	annotations := item.GetAnnotations()
	if id := annotations["internal.config.kubernetes.io/id"]; id != "" {
		return id
	}
	return annotations["config.k8s.io/id"]
}

// sameNode: equal node for node, styles and comments included (an alias by its name).
func sameNode(a, b *yaml.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor ||
		a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment ||
		len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// safely turns a panic of a function into an error result, as the SDK does.
func safely(p processor, items []*yaml.RNode, config *yaml.RNode) (out []*yaml.RNode, results []result, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			out, results, ok = items, []result{{Message: fmt.Sprint(v), Severity: "error"}}, false
		}
	}()
	return p(items, config)
}

// document: an item as the text it was read from, its position in the list and kpt's annotations.
type document struct {
	At          int         `json:"at"`
	Text        string      `json:"text"`
	Annotations [][2]string `json:"annotations"`
}

// documentsUnreadable starts the failure of documents yaml.v3 cannot read; the host sends them again
// as YAML it writes itself.
const documentsUnreadable = "documents unreadable: "

// withDocuments: the items with the documents read and placed at their positions (in order).
func withDocuments(items []*yaml.RNode, documents string) ([]*yaml.RNode, error) {
	if documents == "" {
		return items, nil
	}
	var docs []document
	if err := json.Unmarshal([]byte(documents), &docs); err != nil {
		return nil, err
	}
	all := make([]*yaml.RNode, 0, len(items)+len(docs))
	next := 0
	for _, d := range docs {
		for len(all) < d.At && next < len(items) {
			all = append(all, items[next])
			next++
		}
		node, err := yaml.Parse(d.Text)
		if err != nil {
			return nil, err
		}
		if node.YNode().Kind != yaml.MappingNode {
			return nil, fmt.Errorf("document %d is not a map", d.At)
		}
		for _, a := range d.Annotations {
			if err := node.PipeE(yaml.SetAnnotation(a[0], a[1])); err != nil {
				return nil, err
			}
		}
		all = append(all, node)
	}
	return append(all, items[next:]...), nil
}
