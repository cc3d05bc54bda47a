package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/filters/annotations"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// setAnnotations: a ConfigMap's data, or a SetAnnotations / SetAnnotationConfig (fn.kpt.dev/v1alpha1)
// config's annotations, set by kustomize's annotations filter in metadata and the fields of
// kustomize's commonAnnotations field specs plus additionalAnnotationFields (fieldSpecs, deprecated).
func setAnnotations(items []*yaml.RNode, config *yaml.RNode) ([]*yaml.RNode, []result, bool) {
	fail := func(message string) ([]*yaml.RNode, []result, bool) {
		stderr = "[error]: " + message
		return items, []result{{Message: message, Severity: "error"}}, false
	}
	wanted, specs, err := annotationsConfig(config)
	if err != nil {
		return fail("failed to configure function: " + err.Error())
	}
	type key struct{ path, index, field string }
	applied := map[key]map[string]string{}
	for _, item := range items {
		path, index, _ := kioutil.GetFileAnnotations(item)
		filter := annotations.Filter{Annotations: wanted, FsSlice: specs}
		filter.WithMutationTracker(func(k, v, _ string, node *yaml.RNode) {
			id := key{path, index, strings.Join(node.FieldPath(), ".")}
			if applied[id] == nil {
				applied[id] = map[string]string{}
			}
			applied[id][k] = v
		})
		if _, err := filter.Filter([]*yaml.RNode{item}); err != nil {
			return fail("failed to run function: failed to run transformer: " + err.Error())
		}
	}
	if len(applied) == 0 {
		return items, []result{{Message: "no annotations applied"}}, true
	}
	var results []result
	for id, values := range applied {
		text, _ := json.Marshal(values)
		index, _ := strconv.Atoi(id.index)
		results = append(results, result{Message: fmt.Sprintf("set annotations: %s", text), Field: &field{Path: id.field}, File: &file{Path: id.path, Index: index}})
	}
	// as kyaml's framework.Results.Sort: by file, then field, then message
	sort.SliceStable(results, func(i, j int) bool {
		a, b := results[i], results[j]
		if a.File.Path != b.File.Path {
			return a.File.Path < b.File.Path
		}
		if a.File.Index != b.File.Index {
			return a.File.Index < b.File.Index
		}
		if a.Field.Path != b.Field.Path {
			return a.Field.Path < b.Field.Path
		}
		return a.Message < b.Message
	})
	return items, results, true
}

func annotationsConfig(config *yaml.RNode) (map[string]string, types.FsSlice, error) {
	if config == nil || len(config.Content()) == 0 {
		return nil, nil, fmt.Errorf("`functionConfig` must be a `ConfigMap` or `SetAnnotations`")
	}
	meta, _ := config.GetMeta()
	var wanted map[string]string
	var specs types.FsSlice
	switch {
	case meta.APIVersion == "v1" && meta.Kind == "ConfigMap":
		wanted = config.GetDataMap()
	case meta.APIVersion == "fn.kpt.dev/v1alpha1" && (meta.Kind == "SetAnnotations" || meta.Kind == "SetAnnotationConfig"):
		var c struct {
			Annotations                map[string]string `yaml:"annotations,omitempty"`
			FieldSpecs                 types.FsSlice     `yaml:"fieldSpecs,omitempty"`
			AdditionalAnnotationFields types.FsSlice     `yaml:"additionalAnnotationFields,omitempty"`
		}
		if err := config.YNode().Decode(&c); err != nil {
			return nil, nil, fmt.Errorf("failed to unmarshal config: %w", err)
		}
		if c.AdditionalAnnotationFields != nil && c.FieldSpecs != nil {
			return nil, nil, fmt.Errorf("`fieldSpecs` has been deprecated, please rename it to `additionalAnnotationFields`")
		}
		wanted, specs = c.Annotations, c.AdditionalAnnotationFields
		if specs == nil {
			specs = c.FieldSpecs
		}
	default:
		return nil, nil, fmt.Errorf("`functionConfig` must be a `ConfigMap` or `SetAnnotations`")
	}
	if len(wanted) == 0 {
		return nil, nil, fmt.Errorf("input annotation list cannot be empty")
	}
	var defaults struct {
		FieldSpecs types.FsSlice `yaml:"commonAnnotations,omitempty"`
	}
	if err := yaml.Unmarshal([]byte(commonAnnotationFieldSpecs), &defaults); err != nil {
		return nil, nil, err
	}
	return wanted, append(specs, defaults.FieldSpecs...), nil
}

// kustomize's default field specs for commonAnnotations (api/internal/konfig/builtinpluginconsts).
const commonAnnotationFieldSpecs = `
commonAnnotations:
- path: metadata/annotations
  create: true
- path: spec/template/metadata/annotations
  create: true
  version: v1
  kind: ReplicationController
- path: spec/template/metadata/annotations
  create: true
  kind: Deployment
- path: spec/template/metadata/annotations
  create: true
  kind: ReplicaSet
- path: spec/template/metadata/annotations
  create: true
  kind: DaemonSet
- path: spec/template/metadata/annotations
  create: true
  kind: StatefulSet
- path: spec/template/metadata/annotations
  create: true
  group: batch
  kind: Job
- path: spec/jobTemplate/metadata/annotations
  create: true
  group: batch
  kind: CronJob
- path: spec/jobTemplate/spec/template/metadata/annotations
  create: true
  group: batch
  kind: CronJob
`
