package main

import (
	"fmt"
	"regexp"
	"sigs.k8s.io/kustomize/api/filters/imagetag"

	"sigs.k8s.io/kustomize/api/pkg/util"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

type setImageConfig struct {
	Image                 types.Image       `yaml:"image,omitempty"`
	Data                  map[string]string `yaml:"data,omitempty"`
	AdditionalImageFields types.FsSlice     `yaml:"additionalImageFields,omitempty"`
}

// setImage: the images of Pod and workload containers whose name matches `image.name`, given a new
// name, tag or digest (kustomize's image.Split and IsImageMatched); additionalImageFields through
// kustomize's imagetag filter.
func setImage(items []*yaml.RNode, config *yaml.RNode) ([]*yaml.RNode, []result, bool) {
	var results []result
	terminate := func(message string, ref *result) ([]*yaml.RNode, []result, bool) {
		r := result{Message: message, Severity: "error"}
		if ref != nil {
			r.ResourceRef, r.File = ref.ResourceRef, ref.File
		}
		results = append(results, r, result{Message: "function is terminated: " + message, Severity: "error"})
		stderr = "failed to evaluate function: function is terminated: " + message
		return items, results, false
	}
	var c setImageConfig
	meta, _ := config.GetMeta()
	switch {
	case config == nil || len(config.Content()) == 0:
		results = append(results, result{Message: "`FunctionConfig` is not given", Severity: "info"})
	case meta.APIVersion == "v1" && meta.Kind == "ConfigMap":
		c.Data = config.GetDataMap()
	case meta.APIVersion == "fn.kpt.dev/v1alpha1" && meta.Kind == "SetImage":
		if err := config.YNode().Decode(&c); err != nil {
			return terminate(err.Error(), nil)
		}
	default:
		return terminate(fmt.Sprintf("unknown FunctionConfig `%v`, expect SetImage", meta.Kind), objectRef(config))
	}
	for k, v := range c.Data {
		switch k {
		case "name":
			c.Image.Name = v
		case "newName":
			c.Image.NewName = v
		case "newTag":
			c.Image.NewTag = v
		case "digest":
			c.Image.Digest = v
		default:
			return terminate(fmt.Sprintf("ConfigMap has wrong field name %v", k), nil)
		}
	}
	if c.Image.Name == "" {
		return terminate("must specify `name`", nil)
	}
	if c.Image.NewName == "" && c.Image.NewTag == "" && c.Image.Digest == "" {
		return terminate("must specify one of `newName`, `newTag`, or `digest`", nil)
	}
	count := 0
	for _, item := range items {
		var podSpec *yaml.RNode
		switch item.GetKind() {
		case "Pod":
			podSpec, _ = item.Pipe(yaml.Lookup("spec"))
		case "Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "PodTemplate":
			podSpec, _ = item.Pipe(yaml.Lookup("spec", "template", "spec"))
		}
		if podSpec == nil {
			continue
		}
		// the catalog reads "iniContainers" (sic): init containers are left alone
		for _, list := range []string{"iniContainers", "containers"} {
			containers, _ := podSpec.Pipe(yaml.Lookup(list))
			if containers == nil {
				continue
			}
			elements, _ := containers.Elements()
			for _, container := range elements {
				old := ""
				if f := container.Field("image"); f != nil && f.Value != nil {
					old = yaml.GetValue(f.Value)
				}
				if !imageMatches(old, c.Image.Name) {
					continue
				}
				updated := newImageName(old, c.Image)
				if updated == old {
					continue
				}
				if err := container.PipeE(yaml.SetField("image", yaml.NewStringRNode(updated))); err != nil {
					results = append(results, result{Message: err.Error(), Severity: "error"})
					continue
				}
				count++
			}
		}
	}
	if c.AdditionalImageFields != nil {
		for _, item := range items {
			filter := imagetag.Filter{ImageTag: c.Image, FsSlice: c.AdditionalImageFields}
			filter.WithMutationTracker(func(_, _, _ string, _ *yaml.RNode) { count++ })
			if _, err := filter.Filter([]*yaml.RNode{item}); err != nil {
				results = append(results, result{Message: err.Error(), Severity: "error"})
			}
		}
	}
	results = append(results, result{Message: fmt.Sprintf("summary: updated a total of %v image(s)", count), Severity: "info"})
	return items, results, true
}

func newImageName(old string, img types.Image) string {
	name, tag, digest := util.SplitImageName(old)
	if img.NewName != "" {
		name = img.NewName
	}
	if img.NewTag != "" {
		tag = ":" + img.NewTag
	}
	if img.Digest != "" {
		tag = "@" + img.Digest
	}
	if tag == "" {
		return name + digest
	}
	return name + tag
}

func objectRef(o *yaml.RNode) *result {
	meta, _ := o.GetMeta()
	path, index, _ := kioutil.GetFileAnnotations(o)
	i := -1
	fmt.Sscan(index, &i)
	return &result{
		ResourceRef: &resourceRef{APIVersion: meta.APIVersion, Kind: meta.Kind, Name: meta.Name, Namespace: meta.Namespace},
		File:        &file{Path: path, Index: i},
	}
}

// imageMatches: `image` is `name`, optionally with a tag and a digest (kustomize's IsImageMatched).
func imageMatches(image, name string) bool {
	pattern, err := regexp.Compile("^" + name + "(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?$")
	return err == nil && pattern.MatchString(image)
}
