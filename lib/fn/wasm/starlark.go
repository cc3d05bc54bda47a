package main

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	"go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
	"sigs.k8s.io/kustomize/kyaml/kio/filters"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// runStarlark: a StarlarkRun (fn.kpt.dev/v1alpha1) or ConfigMap config's `source`, run with
// ctx.resource_list (apiVersion, kind, items, functionConfig) as a mutable value; the items it
// leaves there are the output.
func runStarlark(items []*yaml.RNode, config *yaml.RNode) ([]*yaml.RNode, []result, bool) {
	fail := func(message string) ([]*yaml.RNode, []result, bool) {
		return items, []result{{Message: message, Severity: "error"}}, false
	}
	name, source, err := starlarkConfig(config)
	if err != nil {
		return fail(err.Error())
	}
	list := map[string]interface{}{
		"apiVersion": "config.kubernetes.io/v1",
		"kind":       "ResourceList",
	}
	var plainItems []interface{}
	for _, item := range items {
		var v interface{}
		if err := item.YNode().Decode(&v); err != nil {
			return fail(err.Error())
		}
		plainItems = append(plainItems, v)
	}
	list["items"] = plainItems
	if config != nil {
		var v interface{}
		if err := config.YNode().Decode(&v); err != nil {
			return fail(err.Error())
		}
		list["functionConfig"] = v
	}
	value, err := toStarlark(list)
	if err != nil {
		return fail(err.Error())
	}
	thread := &starlark.Thread{Name: name, Load: load, Print: func(_ *starlark.Thread, msg string) { stderr += msg + "\n" }}
	ctx := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"resource_list": value,
		"environment":   starlark.NewDict(0),
		"open_api":      starlark.NewDict(0),
	})
	// what the catalog enables with resolve.AllowSet, AllowGlobalReassign (top-level if/for too) and AllowRecursion (while too)
	options := &syntax.FileOptions{Set: true, GlobalReassign: true, TopLevelControl: true, Recursion: true, While: true}
	if _, err := starlark.ExecFileOptions(options, thread, name, source, starlark.StringDict{"ctx": ctx}); err != nil {
		return fail(err.Error())
	}
	plain, err := fromStarlark(value)
	if err != nil {
		return fail(err.Error())
	}
	outList, _ := plain.(map[string]interface{})
	rawItems, _ := outList["items"].([]interface{})
	var out []*yaml.RNode
	for _, raw := range rawItems {
		b, err := yaml.Marshal(raw)
		if err != nil {
			return fail(err.Error())
		}
		node, err := yaml.Parse(string(b))
		if err != nil {
			return fail(err.Error())
		}
		// starlark sorts fields alphabetically: order them as Kubernetes objects are usually written
		if _, err := (filters.FormatFilter{}).Filter([]*yaml.RNode{node}); err != nil {
			return fail(err.Error())
		}
		out = append(out, node)
	}
	return out, nil, true
}

func starlarkConfig(config *yaml.RNode) (name, source string, err error) {
	if config == nil || len(config.Content()) == 0 {
		return "", "", fmt.Errorf("FunctionConfig is missing. Expect `ConfigMap` or `StarlarkRun`")
	}
	meta, _ := config.GetMeta()
	group := ""
	if i := strings.Index(meta.APIVersion, "/"); i >= 0 {
		group = meta.APIVersion[:i]
	}
	switch {
	case group == "" && meta.Kind == "ConfigMap":
		data := config.GetDataMap()
		source = data["source"]
	case group == "fn.kpt.dev" && meta.Kind == "StarlarkRun":
		var sr struct {
			Source string                 `yaml:"source"`
			Params map[string]interface{} `yaml:"params,omitempty"`
		}
		if err := config.YNode().Decode(&sr); err != nil {
			return "", "", err
		}
		source = sr.Source
	default:
		version := meta.APIVersion
		if group != "" {
			version = meta.APIVersion[len(group)+1:]
		}
		gvk := fmt.Sprintf("%s, Kind=%s", strings.TrimPrefix(group+"/"+version, "/"), meta.Kind)
		return "", "", fmt.Errorf("`functionConfig` must be either %v or %v, but we got: %v",
			"/v1, Kind=ConfigMap", "fn.kpt.dev/v1alpha1, Kind=StarlarkRun", gvk)
	}
	name = meta.Name
	if name == "" {
		name = "starlark-function-run"
	}
	if source == "" {
		return "", "", fmt.Errorf("`source` must not be empty")
	}
	return name, source, nil
}

// load: the standard modules a script may load; nothing from disk or the network.
func load(_ *starlark.Thread, module string) (starlark.StringDict, error) {
	switch module {
	case "json.star", "encoding/json.star":
		return starlark.StringDict{"json": json.Module}, nil
	case "math.star":
		return starlark.StringDict{"math": math.Module}, nil
	case "time.star":
		return starlark.StringDict{"time": time.Module}, nil
	}
	return nil, fmt.Errorf("cannot load %s: not available in the built-in starlark", module)
}

func toStarlark(v interface{}) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case uint64:
		return starlark.MakeUint64(x), nil
	case float64:
		return starlark.Float(x), nil
	case *big.Int:
		return starlark.MakeBigInt(x), nil
	case []interface{}:
		elems := make([]starlark.Value, 0, len(x))
		for _, e := range x {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			elems = append(elems, sv)
		}
		return starlark.NewList(elems), nil
	case map[string]interface{}:
		d := starlark.NewDict(len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sv, err := toStarlark(x[k])
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	case map[interface{}]interface{}:
		d := starlark.NewDict(len(x))
		for k, e := range x {
			sk, err := toStarlark(k)
			if err != nil {
				return nil, err
			}
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(sk, sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot convert %T to a starlark value", v)
}

func fromStarlark(v starlark.Value) (interface{}, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.String:
		return string(x), nil
	case starlark.Int:
		if i, ok := x.Int64(); ok {
			return i, nil
		}
		return x.BigInt(), nil
	case starlark.Float:
		return float64(x), nil
	case *starlark.List:
		out := make([]interface{}, 0, x.Len())
		for i := 0; i < x.Len(); i++ {
			e, err := fromStarlark(x.Index(i))
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	case starlark.Tuple:
		out := make([]interface{}, 0, len(x))
		for _, e := range x {
			pe, err := fromStarlark(e)
			if err != nil {
				return nil, err
			}
			out = append(out, pe)
		}
		return out, nil
	case *starlark.Dict:
		out := map[string]interface{}{}
		for _, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("map keys must be strings, found %s", item[0].Type())
			}
			e, err := fromStarlark(item[1])
			if err != nil {
				return nil, err
			}
			out[string(k)] = e
		}
		return out, nil
	case *starlarkstruct.Struct:
		d := starlark.StringDict{}
		x.ToStringDict(d)
		out := map[string]interface{}{}
		for k, e := range d {
			pe, err := fromStarlark(e)
			if err != nil {
				return nil, err
			}
			out[k] = pe
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot convert a starlark %s to YAML", v.Type())
}
