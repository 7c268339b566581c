package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gatescreen/gatescreen/internal/config"
)

// TestExampleDocumentsEveryKey keeps configs/gate.example.yaml complete: every
// key of Config must appear in it, with a comment on its line or above it.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(path, n.Content[0])
		case yaml.MappingNode:
			for i := 0; i < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if path == "outputs" {
					key = "*" // map keys are the operator's names
				}
				p := strings.TrimPrefix(path+"."+key, ".")
				written[p] = true
				walk(p, n.Content[i+1])
			}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				walk(path+"[]", item)
			}
		}
	}
	walk("", &root)

	for _, key := range keysOf("", reflect.TypeOf(config.Config{})) {
		if !written[key] {
			t.Errorf("configs/gate.example.yaml does not show %s", key)
		}
	}

	// Every line holding a key is commented, or sits under a comment
	// block that documents its section.
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.Contains(l, "#") {
			continue
		}
		documented := false
		for j := i - 1; j >= 0 && !documented; j-- {
			prev := strings.TrimSpace(lines[j])
			if prev == "" {
				break
			}
			documented = strings.HasPrefix(prev, "#")
		}
		if !documented {
			t.Errorf("example line %d has no comment: %s", i+1, l)
		}
	}
}

// keysOf lists the YAML keys of t as paths: "devices[].modbus.slave_id",
// "outputs.*.red".
func keysOf(prefix string, t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		path := strings.TrimPrefix(prefix+"."+name, ".")
		keys = append(keys, path)
		ft := f.Type
		switch ft.Kind() {
		case reflect.Pointer:
			ft = ft.Elem()
		case reflect.Slice:
			ft, path = ft.Elem(), path+"[]"
		case reflect.Map:
			ft, path = ft.Elem(), path+".*"
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() != "time" {
			keys = append(keys, keysOf(path, ft)...)
		}
	}
	return keys
}
