package uplink

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// jsonSchema validates a document against the subset of JSON Schema 2020-12
// used by testdata/mqtt/schema: type, const, enum, pattern, minLength,
// minimum, maximum, format (date-time), required, properties, additionalProperties, items,
// minItems, oneOf and local $ref. An unknown keyword is an error, so a
// schema cannot silently ask for more than is checked.
type jsonSchema struct {
	root map[string]any
}

var knownKeywords = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "format": true, "$defs": true,
	"type": true, "const": true, "enum": true, "pattern": true, "minLength": true, "minimum": true,
	"maximum": true, "required": true, "properties": true, "additionalProperties": true,
	"items": true, "minItems": true, "oneOf": true, "$ref": true,
}

func parseSchema(b []byte) (*jsonSchema, error) {
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	return &jsonSchema{root: root}, nil
}

// Validate checks a JSON document.
func (s *jsonSchema) Validate(doc []byte) error {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return err
	}
	return s.check(s.root, v, "$")
}

func (s *jsonSchema) check(sch map[string]any, v any, at string) error {
	keys := make([]string, 0, len(sch))
	for k := range sch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !knownKeywords[k] {
			return fmt.Errorf("%s: schema keyword %q not supported by the test validator", at, k)
		}
	}
	if ref, ok := sch["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		if !found {
			return fmt.Errorf("%s: unsupported $ref %q", at, ref)
		}
		def, ok := s.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: $ref %q not found", at, ref)
		}
		if err := s.check(def, v, at); err != nil {
			return err
		}
	}
	if t, ok := sch["type"]; ok {
		if err := checkType(t, v, at); err != nil {
			return err
		}
	}
	if c, ok := sch["const"]; ok && !reflect.DeepEqual(c, v) {
		return fmt.Errorf("%s: %v is not the constant %v", at, v, c)
	}
	if e, ok := sch["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || reflect.DeepEqual(x, v)
		}
		if !found {
			return fmt.Errorf("%s: %v not in %v", at, v, e)
		}
	}
	if str, ok := v.(string); ok {
		if p, ok := sch["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, p)
		}
		if f, ok := sch["format"].(string); ok && f == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is not an RFC 3339 date-time", at, str)
			}
		}
		if m, ok := sch["minLength"].(float64); ok && float64(len([]rune(str))) < m {
			return fmt.Errorf("%s: %q shorter than %v", at, str, m)
		}
	}
	if n, ok := v.(float64); ok {
		if m, ok := sch["minimum"].(float64); ok && n < m {
			return fmt.Errorf("%s: %v below %v", at, n, m)
		}
		if m, ok := sch["maximum"].(float64); ok && n > m {
			return fmt.Errorf("%s: %v above %v", at, n, m)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		if err := s.checkObject(sch, obj, at); err != nil {
			return err
		}
	}
	if arr, ok := v.([]any); ok {
		if m, ok := sch["minItems"].(float64); ok && float64(len(arr)) < m {
			return fmt.Errorf("%s: %d items, want ≥ %v", at, len(arr), m)
		}
		if it, ok := sch["items"].(map[string]any); ok {
			for i, x := range arr {
				if err := s.check(it, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	if alts, ok := sch["oneOf"].([]any); ok {
		var errs []string
		for _, a := range alts {
			if err := s.check(a.(map[string]any), v, at); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if matched := len(alts) - len(errs); matched != 1 {
			return fmt.Errorf("%s: matches %d of oneOf, want 1 (%s)", at, matched, strings.Join(errs, "; "))
		}
	}
	return nil
}

func (s *jsonSchema) checkObject(sch map[string]any, obj map[string]any, at string) error {
	if req, ok := sch["required"].([]any); ok {
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: missing %q", at, r)
			}
		}
	}
	props, _ := sch["properties"].(map[string]any)
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if p, ok := props[k].(map[string]any); ok {
			if err := s.check(p, obj[k], at+"."+k); err != nil {
				return err
			}
			continue
		}
		switch ap := sch["additionalProperties"].(type) {
		case bool:
			if !ap {
				return fmt.Errorf("%s: unexpected field %q", at, k)
			}
		case map[string]any:
			if err := s.check(ap, obj[k], at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkType(t any, v any, at string) error {
	var types []string
	switch t := t.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	for _, want := range types {
		if hasType(want, v) {
			return nil
		}
	}
	return fmt.Errorf("%s: %v (%T) is not of type %v", at, v, v, types)
}

func hasType(want string, v any) bool {
	switch want {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == math.Trunc(n)
	}
	return false
}
