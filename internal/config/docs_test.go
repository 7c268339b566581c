package config_test

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestEveryNumericKeyHasARange: every number, duration and size of the
// example, set absurdly large, is an error at its own line naming its key,
// and its comment documents the range. Before, 4294967297 passes, 876000h
// and 1e12 passed check-config and were clamped in silence.
func TestEveryNumericKeyHasARange(t *testing.T) {
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	type leaf struct {
		path string
		node *yaml.Node
		huge string
	}
	var leaves []leaf
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(path, n.Content[0])
		case yaml.MappingNode:
			for i := 0; i < len(n.Content); i += 2 {
				walk(strings.TrimPrefix(path+"."+n.Content[i].Value, "."), n.Content[i+1])
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				walk(fmt.Sprintf("%s[%d]", path, i), item)
			}
		case yaml.ScalarNode:
			if n.Tag == "!!str" && n.Style != 0 {
				return // quoted: a clock time or a name
			}
			if _, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				leaves = append(leaves, leaf{path, n, "1000000000000000"})
			} else if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
				leaves = append(leaves, leaf{path, n, "1e15"})
			} else if _, err := time.ParseDuration(n.Value); err == nil {
				leaves = append(leaves, leaf{path, n, "876000h"})
			} else if _, err := config.ParseByteSize(n.Value); err == nil {
				leaves = append(leaves, leaf{path, n, "1000000TiB"})
			}
		}
	}
	walk("", &root)
	if len(leaves) < 30 {
		t.Fatalf("found only %d numeric keys in the example", len(leaves))
	}
	lines := strings.Split(string(data), "\n")
	for _, l := range leaves {
		t.Run(l.path, func(t *testing.T) {
			if c := lines[l.node.Line-1]; !strings.Contains(c, "#") || !rangeDoc.MatchString(c[strings.Index(c, "#"):]) {
				t.Errorf("line %d (%s) documents no range like 1–64", l.node.Line, strings.TrimSpace(c))
			}
			old := l.node.Value
			l.node.Value = l.huge
			defer func() { l.node.Value = old }()
			b, err := yaml.Marshal(&root)
			if err != nil {
				t.Fatal(err)
			}
			_, err = config.Parse("x.yaml", b)
			if err == nil || !strings.Contains(err.Error(), l.path+":") {
				t.Fatalf("%s: %s accepted or not named: %v", l.path, l.huge, err)
			}
		})
	}
}

// rangeDoc is how the example writes a range: 1–64, -5–5, 1ms–1m, 0.5–2.
var rangeDoc = regexp.MustCompile(`-?[0-9.]+[a-zA-Z]*–(-?[0-9.]+|threshold_c)|one of [0-9]`)
