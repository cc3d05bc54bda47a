// Package main is the WebAssembly build of the built-in functions that wrap Go libraries:
// apply-replacements (kustomize's replacement filter) and starlark (go.starlark.net). It is this
// project's own glue, built by scripts/build-fn-wasm.sh; lib/fn/runtimes/wasm.ts runs it in a worker.
//
// JavaScript calls pvctlProcessResourceList(function, resourceList) and gets back
// {output, error}: output is the ResourceList (items and results) as YAML.
package main

import (
	"bytes"
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

// process reads a ResourceList, runs the named function and writes the ResourceList back.
func process(name, input string) (output string, failure string) {
	p, found := processors[name]
	if !found {
		return "", fmt.Sprintf("no function %q in this build", name)
	}
	reader := &kio.ByteReader{Reader: strings.NewReader(input), OmitReaderAnnotations: true}
	items, err := reader.Read()
	if err != nil {
		return "", "reading the ResourceList: " + err.Error()
	}
	stderr = ""
	out, results, ok := safely(p, items, reader.FunctionConfig)
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
			return "", err.Error()
		}
		node, err := yaml.Parse(string(text))
		if err != nil {
			return "", err.Error()
		}
		writer.Results = node
	}
	if err := writer.Write(out); err != nil {
		return "", "writing the ResourceList: " + err.Error()
	}
	if !ok {
		if stderr == "" {
			stderr = "failed to evaluate function: error: function failure"
		}
		return buf.String(), "function failure\n" + stderr
	}
	return buf.String(), ""
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
