package config

import (
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3 refuses a whole number too large for an int field with the same
// message as a word ("cannot unmarshal !!int"), and what is too large
// depends on the machine: 4294967297 fits the int of a 64-bit Pi and not
// that of a 32-bit one. So an overflowing number is set to the largest (or
// smallest) int instead, and the key's own range check reports it, quoting
// what was written, with the same words on every architecture. A key whose
// check lets that through is still refused, by unclaimedOverflows.

// overflows tells whether a "cannot unmarshal" of node into goType is a
// number that does not fit: every other number fits an int field (yaml.v3
// truncates fractions, see fractions).
func overflows(n *yaml.Node, goType string) bool {
	if goType != "int" && goType != "int64" || n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.ShortTag() {
	case "!!int":
		return true
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		return err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return false
}

// clampOverflows sets every overflowing field of cfg to the int bound on its
// side, so validation sees it out of range.
func (r *reporter) clampOverflows(cfg *Config) {
	for _, l := range r.overflowed {
		f, ok := fieldAt(reflect.ValueOf(cfg).Elem(), l.path)
		if !ok || !wholeNumber(f) || !f.CanSet() {
			continue // unclaimedOverflows reports it
		}
		most := int64(1)<<(f.Type().Bits()-1) - 1
		if strings.HasPrefix(l.node.Value, "-") {
			f.SetInt(-most - 1)
		} else {
			f.SetInt(most)
		}
	}
}

// wholeNumber tells whether f is a plain int field, not a time.Duration or
// another type with a decoding of its own.
func wholeNumber(f reflect.Value) bool {
	return f.Type() == reflect.TypeFor[int]() || f.Type() == reflect.TypeFor[int64]()
}

// unclaimedOverflows refuses the overflowing numbers that no range check
// reported.
func (r *reporter) unclaimedOverflows() {
	for _, l := range r.overflowed {
		if !r.reported[l.path] {
			r.add(l.path, l.node.Value, "is out of range for this key")
		}
	}
}

// fractions refuses a number with a fraction written for a whole-number
// key, which yaml.v3 would silently truncate (window: 50.7 read as 50).
func (r *reporter) fractions(cfg *Config) {
	for _, l := range r.index.all {
		if l.node.Kind != yaml.ScalarNode || l.node.ShortTag() != "!!float" {
			continue
		}
		f, ok := fieldAt(reflect.ValueOf(cfg).Elem(), l.path)
		if !ok || !wholeNumber(f) || r.decodeFailed[l.path] {
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(l.node.Value, "_", ""), 64)
		if err == nil && v != math.Trunc(v) {
			r.add(l.path, l.node.Value, "is not a whole number")
			r.decodeFailed[l.path] = true
		}
	}
}

// fieldAt follows a path such as "devices[0].line.max_line" through the
// yaml keys of struct fields, list indexes and pointers. Map values are not
// addressable and end the walk.
func fieldAt(v reflect.Value, path string) (reflect.Value, bool) {
	for path != "" {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		if rest, ok := strings.CutPrefix(path, "["); ok {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil || v.Kind() != reflect.Slice || i < 0 || i >= v.Len() {
				return reflect.Value{}, false
			}
			v, path = v.Index(i), strings.TrimPrefix(after, ".")
			continue
		}
		end := strings.IndexAny(path, ".[")
		if end < 0 {
			end = len(path)
		}
		key := path[:end]
		path = strings.TrimPrefix(path[end:], ".")
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		found := false
		for i := range v.NumField() {
			if yamlKey(v.Type().Field(i)) == key {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, false
		}
	}
	return v, true
}
