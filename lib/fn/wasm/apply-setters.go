package main

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const setterComment = "# kpt-set: "

var setterRef = regexp.MustCompile(`\$\{([^}]*)\}`)

type setterRun struct {
	values  map[string]string
	file    string
	results []result
}

// applySetters: the values of a ConfigMap's data put into the fields marked `# kpt-set: <pattern>`
// (a scalar: the pattern with its ${setters} filled in, setters not given keep their current part;
// a list: the setter's value, a YAML list).
func applySetters(items []*yaml.RNode, config *yaml.RNode) ([]*yaml.RNode, []result, bool) {
	run := &setterRun{values: map[string]string{}}
	if config != nil {
		for k, v := range config.GetDataMap() {
			run.values[k] = v
		}
	}
	for _, item := range items {
		run.file, _, _ = kioutil.GetFileAnnotations(item)
		if err := run.walk(item.YNode(), ""); err != nil {
			message := "failed to apply setters: " + err.Error()
			stderr = err.Error()
			return items, []result{{Message: message, Severity: "error"}}, false
		}
	}
	if len(run.results) == 0 {
		return items, []result{{Message: "no matches for input setter(s)"}}, true
	}
	return items, run.results, true
}

func (s *setterRun) walk(node *yaml.Node, path string) error {
	switch node.Kind {
	case yaml.DocumentNode:
		for _, c := range node.Content {
			if err := s.walk(c, path); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if err := s.setList(node.Content[i], node.Content[i+1], path); err != nil {
				return err
			}
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			if err := s.walk(node.Content[i+1], path+"."+node.Content[i].Value); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range node.Content {
			if err := s.walk(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		return s.setScalar(node, path)
	}
	return nil
}

// pattern: the setter pattern of a `# kpt-set:` comment, "" for other comments.
func pattern(comment string) string {
	if !strings.HasPrefix(comment, setterComment) {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(comment, setterComment))
}

func setterName(ref string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(ref), "${"), "}")
}

// uses: whether the pattern names one of the given setters.
func (s *setterRun) uses(p string) bool {
	for name := range s.values {
		if strings.Contains(p, "${"+name+"}") {
			return true
		}
	}
	return false
}

func (s *setterRun) setList(key, value *yaml.Node, path string) error {
	if value.Kind != yaml.SequenceNode {
		return nil
	}
	comment := key.LineComment
	if value.Style == yaml.FlowStyle {
		comment = value.LineComment
	}
	p := pattern(comment)
	if p == "" || !s.uses(p) {
		return nil
	}
	refs := setterRef.FindAllString(p, -1)
	if len(refs) != 1 || !strings.HasPrefix(p, "${") || !strings.HasSuffix(p, "}") {
		return fmt.Errorf("invalid setter pattern for array node: %q", p)
	}
	v := s.values[setterName(p)]
	fieldPath := strings.TrimPrefix(path+"."+key.Value, ".")
	if v == "" {
		value.Content = []*yaml.Node{}
		value.Style = yaml.FlowStyle
		value.LineComment = comment
		key.LineComment = ""
	} else {
		parsed, err := yaml.Parse(v)
		if err != nil || parsed.YNode().Kind != yaml.SequenceNode {
			return fmt.Errorf("input to array setter must be an array of values, but found %q", v)
		}
		value.Content = parsed.YNode().Content
		key.LineComment = comment
		value.Style = yaml.FoldedStyle
	}
	s.results = append(s.results, result{Message: fmt.Sprintf("set field value to %q", v), Field: &field{Path: fieldPath}, File: &file{Path: s.file}})
	return nil
}

func (s *setterRun) setScalar(node *yaml.Node, path string) error {
	p := pattern(node.LineComment)
	if p == "" || !s.uses(p) {
		return nil
	}
	out := p
	for name, v := range s.values {
		out = strings.ReplaceAll(out, "${"+name+"}", v)
	}
	for name, v := range currentValues(p, node.Value) {
		out = strings.ReplaceAll(out, "${"+name+"}", v)
	}
	if left := setterRef.FindAllString(out, -1); len(left) > 0 {
		return fmt.Errorf("values for setters %v must be provided", left)
	}
	node.Value = out
	if out == "" {
		node.Style = yaml.DoubleQuotedStyle
	}
	node.Tag = ""
	s.results = append(s.results, result{Message: fmt.Sprintf("set field value to %q", out), Field: &field{Path: strings.TrimPrefix(path, ".")}, File: &file{Path: s.file}})
	return nil
}

// currentValues: the parts of `value` each setter of `p` stands for now (none when any part is empty).
func currentValues(p, value string) map[string]string {
	refs := setterRef.FindAllString(p, -1)
	re := regexp.QuoteMeta(p)
	for _, ref := range refs {
		re = strings.ReplaceAll(re, regexp.QuoteMeta(ref), `(.*)`)
	}
	out := map[string]string{}
	compiled, err := regexp.Compile(re)
	if err != nil {
		return out
	}
	m := compiled.FindStringSubmatch(value)
	if len(m) == 0 || len(m)-1 != len(refs) {
		return out
	}
	for i, part := range m[1:] {
		if part == "" {
			return map[string]string{}
		}
		out[setterName(refs[i])] = part
	}
	return out
}
