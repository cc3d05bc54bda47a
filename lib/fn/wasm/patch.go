package main

import (
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// An item the function changed in a few places goes back as edits of the input item instead of
// whole: the host then parses only the changed values, not the item. Each edit is the YAML text of
// one new value at a path (map keys and list indexes) or the removal of a map key. Edits are made
// only where laying the host's parse of them onto the input gives what laying the whole written
// item would (lib/fn/resourcelist.ts patchNode); anything else (changed comments, anchors, keys
// that are not strings, lists that change length) sends the whole item.

// patchOf: the edits that turn before into after, or ok=false when the item must be sent whole.
func patchOf(before, after *yaml.Node) (edits []any, ok bool) {
	if before.Kind != yaml.MappingNode || after.Kind != yaml.MappingNode {
		return nil, false
	}
	edits = []any{}
	return edits, diffNode(before, after, []any{}, &edits)
}

func diffNode(a, b *yaml.Node, path []any, edits *[]any) bool {
	if sameNode(a, b) {
		return true
	}
	if a.Anchor != "" || b.Anchor != "" || a.Kind == yaml.AliasNode || b.Kind == yaml.AliasNode {
		return false
	}
	// a node made in Go (kpt's annotations on a document sent as text) has no tag: its short tag is
	// the one it resolves to
	sameShell := a.Kind == b.Kind && a.ShortTag() == b.ShortTag() && a.Style == b.Style &&
		a.HeadComment == b.HeadComment && a.LineComment == b.LineComment && a.FootComment == b.FootComment
	switch {
	case sameShell && a.Kind == yaml.MappingNode:
		return diffMap(a, b, path, edits)
	case sameShell && a.Kind == yaml.SequenceNode && len(a.Content) == len(b.Content):
		for i := range a.Content {
			if !diffNode(a.Content[i], b.Content[i], appendPath(path, i), edits) {
				return false
			}
		}
		return true
	}
	return replaceWith(b, path, edits)
}

func diffMap(a, b *yaml.Node, path []any, edits *[]any) bool {
	aKeys, okA := stringKeys(a)
	bKeys, okB := stringKeys(b)
	if !okA || !okB {
		return false
	}
	for key := range aKeys {
		if _, kept := bKeys[key]; !kept {
			*edits = append(*edits, map[string]any{"path": appendPath(path, key), "delete": true})
		}
	}
	for i := 0; i < len(b.Content); i += 2 {
		key := b.Content[i]
		j, kept := aKeys[key.Value]
		switch {
		case kept && !sameKey(a.Content[j], key): // a comment or quoting of the key changed
			return false
		case kept:
			if !diffNode(a.Content[j+1], b.Content[i+1], appendPath(path, key.Value), edits) {
				return false
			}
		case key.Style != 0 || key.HeadComment != "" || key.LineComment != "" || key.FootComment != "":
			return false // the host adds a new key as a plain scalar without comments
		default:
			if !replaceWith(b.Content[i+1], appendPath(path, key.Value), edits) {
				return false
			}
		}
	}
	return true
}

// stringKeys: the position of each key, when every key is a string and none repeats.
func stringKeys(m *yaml.Node) (map[string]int, bool) {
	keys := make(map[string]int, len(m.Content)/2)
	for i := 0; i < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || k.Anchor != "" {
			return nil, false
		}
		if _, twice := keys[k.Value]; twice {
			return nil, false
		}
		keys[k.Value] = i
	}
	return keys, true
}

func sameKey(a, b *yaml.Node) bool {
	return a.Value == b.Value && a.Style == b.Style && a.ShortTag() == b.ShortTag() &&
		a.HeadComment == b.HeadComment && a.LineComment == b.LineComment && a.FootComment == b.FootComment
}

// replaceWith: an edit setting the node at path to b, as YAML text; only for a node whose text
// parses alone as it does in place (no comments of its own, no anchors or aliases in it).
func replaceWith(b *yaml.Node, path []any, edits *[]any) bool {
	if b.HeadComment != "" || b.LineComment != "" || b.FootComment != "" || hasAnchors(b) {
		return false
	}
	text, err := yaml.String(b)
	if err != nil {
		return false
	}
	*edits = append(*edits, map[string]any{"path": path, "yaml": strings.TrimSuffix(text, "\n") + "\n"})
	return true
}

func hasAnchors(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAnchors(c) {
			return true
		}
	}
	return false
}

func appendPath(path []any, step any) []any {
	out := make([]any, len(path), len(path)+1)
	copy(out, path)
	return append(out, step)
}
