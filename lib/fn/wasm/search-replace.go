package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var searchMatchers = []string{"by-value", "by-file-path", "by-value-regex", "by-path", "put-value", "put-comment"}

type search struct {
	byValue, byValueRegex, byPath, byFilePath, putValue, putComment string
	regex                                                           *regexp.Regexp
	file                                                            string
	count                                                           int
	found                                                           []result
}

// searchReplace: fields selected by value (exact or regex), path pattern (`a.*.b`, `**`, `[name=x]`)
// and file glob, reported, or given a new value or a line comment (`${1}` … from the regex groups).
func searchReplace(items []*yaml.RNode, config *yaml.RNode) ([]*yaml.RNode, []result, bool) {
	fail := func(err error) ([]*yaml.RNode, []result, bool) {
		stderr = err.Error()
		return items, []result{{Message: "failed to perform search operation: " + err.Error(), Severity: "error"}}, false
	}
	data := map[string]string{}
	if config != nil {
		data = config.GetDataMap()
	}
	known := map[string]bool{}
	for _, m := range searchMatchers {
		known[m] = true
	}
	names := make([]string, 0, len(data))
	for k := range data {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !known[k] {
			quoted := make([]string, len(searchMatchers))
			for i, m := range searchMatchers {
				quoted[i] = fmt.Sprintf("%q", m)
			}
			return fail(fmt.Errorf("invalid matcher %q, must be one of [%s]", k, strings.Join(quoted, " ")))
		}
	}
	s := &search{byValue: data["by-value"], byValueRegex: data["by-value-regex"], byPath: data["by-path"],
		byFilePath: data["by-file-path"], putValue: data["put-value"], putComment: data["put-comment"]}
	if s.byValue != "" && s.byValueRegex != "" {
		return fail(fmt.Errorf("only one of [%q, %q] can be provided", "by-value", "by-value-regex"))
	}
	if s.byValueRegex != "" {
		re, err := regexp.Compile(s.byValueRegex)
		if err != nil {
			return fail(err)
		}
		s.regex = re
	}
	for _, item := range items {
		path, _, _ := kioutil.GetFileAnnotations(item)
		if s.byFilePath != "" && !globMatch(s.byFilePath, path) {
			continue
		}
		s.file = path
		var err error
		if s.putByPath() {
			err = s.putValueAtPath(item)
		} else {
			err = s.walk(item.YNode(), "")
		}
		if err != nil {
			return fail(err)
		}
	}
	if len(s.found) == 0 {
		return items, []result{{Message: "no matches"}}, true
	}
	return items, s.found, true
}

func (s *search) record(fieldPath, value string) {
	message := fmt.Sprintf("Matched field value %q", value)
	if s.putComment != "" || s.putValue != "" {
		message = fmt.Sprintf("Mutated field value to %q", value)
	}
	s.found = append(s.found, result{Message: message, Field: &field{Path: fieldPath}, File: &file{Path: s.file}})
}

// putByPath: a plain path (no wildcards, no list index) with only a value to put sets the field, creating it.
func (s *search) putByPath() bool {
	if s.byPath == "" || strings.Contains(s.byPath, "[") || s.byValue != "" || s.byValueRegex != "" || s.putValue == "" {
		return false
	}
	for _, e := range strings.Split(s.byPath, ".") {
		if e == "" || strings.Contains(e, "*") {
			return false
		}
	}
	return true
}

func (s *search) putValueAtPath(item *yaml.RNode) error {
	path := strings.Split(s.byPath, ".")
	parent, err := item.Pipe(yaml.LookupCreate(yaml.MappingNode, path[:len(path)-1]...))
	if err != nil {
		return err
	}
	value := yaml.NewScalarRNode(s.putValue)
	value.YNode().Tag = ""
	if err := parent.PipeE(yaml.SetField(path[len(path)-1], value)); err != nil {
		return err
	}
	s.record(s.byPath, s.putValue)
	s.count++
	return nil
}

func (s *search) walk(node *yaml.Node, path string) error {
	switch node.Kind {
	case yaml.DocumentNode:
		for _, c := range node.Content {
			if err := s.walk(c, path); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if err := s.commentList(node.Content[i], node.Content[i+1], path); err != nil {
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
		return s.scalar(node, path)
	}
	return nil
}

// commentList: put-comment on the key of a list the path selects.
func (s *search) commentList(key, value *yaml.Node, path string) error {
	if s.putComment == "" || value.Kind != yaml.SequenceNode || (len(value.Content) == 0 && value.Tag == "!!null") {
		return nil
	}
	if !s.pathMatches(strings.TrimPrefix(path+"."+strings.TrimSpace(key.Value), ".")) {
		return nil
	}
	key.LineComment = s.putComment
	value.Style = yaml.FlowStyle
	text, err := yaml.String(value)
	if err != nil {
		return err
	}
	value.Style = yaml.FoldedStyle
	s.found = append(s.found, result{
		Message: fmt.Sprintf("Mutated field value to %q", strings.TrimSpace(text)),
		Field:   &field{Path: s.byPath + " # " + s.putComment},
		File:    &file{Path: s.file},
	})
	s.count++
	return nil
}

func (s *search) scalar(node *yaml.Node, path string) error {
	pathMatch := s.pathMatches(path)
	valueMatch := (s.byValue != "" && s.byValue == node.Value) || (s.regex != nil && s.regex.MatchString(node.Value))
	if !((valueMatch && pathMatch) || (valueMatch && s.byPath == "") || (pathMatch && s.byValue == "" && s.byValueRegex == "")) {
		return nil
	}
	s.count++
	if s.putComment != "" {
		c, err := s.resolve(node.Value, s.putComment)
		if err != nil {
			return err
		}
		node.LineComment = c
	}
	if s.putValue != "" {
		v, err := s.resolve(node.Value, s.putValue)
		if err != nil {
			return err
		}
		node.Value = v
		node.Tag = ""
	}
	if s.file != "" {
		text, err := yaml.String(node)
		if err != nil {
			return err
		}
		s.record(strings.TrimPrefix(path, "."), strings.TrimSpace(text))
	}
	return nil
}

var captureRef = regexp.MustCompile(`\$\{([0-9]+)\}`)

// resolve fills ${1}, ${2}, … of a pattern with the groups of by-value-regex in the value.
func (s *search) resolve(value, pattern string) (string, error) {
	if s.regex == nil {
		return pattern, nil
	}
	out := pattern
	for i, group := range s.regex.FindStringSubmatch(value) {
		if i > 0 {
			out = strings.ReplaceAll(out, fmt.Sprintf("${%d}", i), group)
		}
	}
	if captureRef.MatchString(out) {
		return "", fmt.Errorf("unable to resolve capture groups")
	}
	return out, nil
}

// pathMatches: a field path (`a.b[0].c`) against by-path, where `*` is one element, `**` any number,
// and `x[*]` / `x[name=y]` select list items.
func (s *search) pathMatches(path string) bool {
	if s.byPath == "" {
		return false
	}
	elems := strings.Split(strings.TrimPrefix(path, "."), ".")
	pattern := strings.Split(s.byPath, ".")
	// match[i][j]: the first i elements match the first j pattern parts
	match := make([][]bool, len(elems)+1)
	for i := range match {
		match[i] = make([]bool, len(pattern)+1)
	}
	match[0][0] = true
	for j := 1; j <= len(pattern); j++ {
		match[0][j] = pattern[j-1] == "**" && match[0][j-1]
	}
	for i := 1; i <= len(elems); i++ {
		for j := 1; j <= len(pattern); j++ {
			switch p := pattern[j-1]; {
			case p == "**":
				match[i][j] = match[i][j-1] || match[i-1][j]
			case p == "*" || elementMatches(elems[i-1], p):
				match[i][j] = match[i-1][j-1]
			}
		}
	}
	return match[len(elems)][len(pattern)]
}

func elementMatches(elem, pattern string) bool {
	if elem == pattern {
		return true
	}
	if !strings.Contains(elem, "[") {
		return false
	}
	e := strings.SplitN(elem, "[", 2)
	p := strings.SplitN(pattern, "[", 2)
	if p[0] != "*" && e[0] != p[0] {
		return false
	}
	return len(p) > 1 && (p[1] == "*]" || e[1] == p[1])
}

// globMatch: a file path against a glob with `**` (any directories), `*`, `?` and `[...]` (doublestar's syntax).
func globMatch(glob, path string) bool {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			i++
			if i+1 < len(glob) && glob[i+1] == '/' {
				i++
				re.WriteString("(?:.*/)?")
			} else {
				re.WriteString(".*")
			}
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		case c == '[':
			end := strings.IndexByte(glob[i:], ']')
			if end < 0 {
				re.WriteString(regexp.QuoteMeta(string(c)))
				continue
			}
			class := glob[i+1 : i+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			re.WriteString("[" + class + "]")
			i += end
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	compiled, err := regexp.Compile(re.String())
	return err == nil && compiled.MatchString(path)
}
