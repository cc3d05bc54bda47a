package main

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/filters/replacement"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// applyReplacements: an ApplyReplacements (fn.kpt.dev/v1alpha1) config's replacements, applied by
// kustomize's replacement filter.
func applyReplacements(items []*yaml.RNode, config *yaml.RNode) ([]*yaml.RNode, []result, bool) {
	fail := func(message string) ([]*yaml.RNode, []result, bool) {
		return items, []result{{Message: message, Severity: "error"}}, false
	}
	if config == nil || len(config.Content()) == 0 {
		return fail("FunctionConfig is missing. Expect `ApplyReplacements`")
	}
	if config.GetKind() != "ApplyReplacements" || config.GetApiVersion() != "fn.kpt.dev/v1alpha1" {
		return fail(fmt.Sprintf("received functionConfig of kind %s and apiVersion %s, "+
			"only functionConfig of kind %s and apiVersion %s is supported",
			config.GetKind(), config.GetApiVersion(), "ApplyReplacements", "fn.kpt.dev/v1alpha1"))
	}
	var spec struct {
		Replacements []types.Replacement `json:"replacements,omitempty" yaml:"replacements,omitempty"`
	}
	if err := config.YNode().Decode(&spec); err != nil {
		return fail(fmt.Sprintf("unable to convert functionConfig to replacements:\n%v", err))
	}
	out, err := replacement.Filter{Replacements: spec.Replacements}.Filter(items)
	if err != nil {
		return fail(err.Error())
	}
	return out, nil, true
}
