package pipeline

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// Every reason a reading can carry is in the readings schema's enum, and the
// enum holds nothing the pipeline never gives: the district validates
// against it (docs/mqtt.md).
func TestReasonsMatchTheSchema(t *testing.T) {
	b, err := os.ReadFile("../testdata/mqtt/schema/readings.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var enum []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["reason"].(map[string]any); ok {
				if e, ok := r["enum"].([]any); ok && enum == nil {
					for _, s := range e {
						enum = append(enum, s.(string))
					}
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	walk(doc)
	if len(enum) == 0 {
		t.Fatal("the readings schema has no reason enum")
	}
	var names []string
	for r := ReasonNone + 1; int(r) < len(reasonNames); r++ {
		names = append(names, r.String())
		if !slices.Contains(enum, r.String()) {
			t.Errorf("reason %q is not in the readings schema's enum", r)
		}
	}
	for _, e := range enum {
		if !slices.Contains(names, e) {
			t.Errorf("the readings schema's enum has %q, which no reason is", e)
		}
	}
}
