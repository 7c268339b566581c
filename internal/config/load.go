package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads, decodes and validates the configuration file at path. A file
// that cannot be read is ErrInvalid too (restarting cannot make it
// appear); problems inside it are Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w: %w", ErrInvalid, err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration; name is the file name used in
// error messages. It starts from Default(), refuses unknown keys and returns
// every problem found as Errors, in line order.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{syntaxError(name, err)}
	}
	r := &reporter{file: name, index: indexNodes(&root), decodeFailed: map[string]bool{}, reported: map[string]bool{}}

	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, Errors{syntaxError(name, err)}
		}
		for _, msg := range te.Errors {
			r.decodeError(msg)
		}
	}
	r.clampOverflows(&cfg)
	r.fractions(&cfg)
	// A second document would be silently ignored by the decoder; an
	// operator who pasted two files together should hear about it.
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			line = syntaxError(name, err).Line
		}
		r.errs = append(r.errs, &FieldError{File: name, Line: line, Msg: "a second YAML document (---) is not allowed: put everything in one"})
	}

	cfg.deriveDefaults()
	cfg.validate(r)
	r.unclaimedOverflows()
	if len(r.errs) > 0 {
		slices.SortStableFunc(r.errs, func(a, b *FieldError) int { return cmp.Compare(a.Line, b.Line) })
		return nil, r.errs
	}
	return &cfg, nil
}

// deriveDefaults fills the defaults that depend on other keys.
func (c *Config) deriveDefaults() {
	if c.Site.BoxID == "" && c.Site.School != "" && c.Site.Gate != "" {
		c.Site.BoxID = c.Site.School + "-" + c.Site.Gate
	}
	if c.Uplink.ClientID == "" && c.Site.BoxID != "" {
		c.Uplink.ClientID = "gatescreen-" + c.Site.BoxID
	}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func syntaxError(file string, err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return &FieldError{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// located is one field of the file: its path, key node (nil for list items)
// and value node.
type located struct {
	path string
	key  *yaml.Node
	node *yaml.Node
}

func (l located) line() int {
	if l.key != nil {
		return l.key.Line
	}
	return l.node.Line
}

// nodeIndex knows where every field of the file is, so any error, from the
// decoder or from validation, can name its line.
type nodeIndex struct {
	byPath map[string]located
	all    []located // in file order
}

func indexNodes(root *yaml.Node) *nodeIndex {
	x := &nodeIndex{byPath: map[string]located{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		x.walk(located{node: root.Content[0]})
	}
	return x
}

// walk records l and its children. Aliases are recorded but not followed:
// expanding them could make a tiny file index an enormous tree, and a field
// reached through one is reported at the alias's line.
func (x *nodeIndex) walk(l located) {
	if _, seen := x.byPath[l.path]; !seen {
		x.byPath[l.path] = l
	}
	x.all = append(x.all, l)
	switch n := l.node; n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			x.walk(located{path: joinPath(l.path, k.Value), key: k, node: v})
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			x.walk(located{path: l.path + "[" + strconv.Itoa(i) + "]", node: item})
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parentPath strips the last ".key" or "[i]" of a path.
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

// locate returns the line of path, or of its closest ancestor written in the
// file, and the scalar text at path when it is written there.
func (x *nodeIndex) locate(path string) (line int, text string, written bool) {
	for p := path; ; p = parentPath(p) {
		if l, ok := x.byPath[p]; ok {
			exact := p == path && l.node.Kind == yaml.ScalarNode
			return l.line(), l.node.Value, exact
		}
		if p == "" {
			return 1, "", false
		}
	}
}

// reporter collects the problems of one file.
type reporter struct {
	file  string
	index *nodeIndex
	errs  Errors
	// decodeFailed holds paths the decoder could not read; validation does
	// not pile a second, confusing error onto them.
	decodeFailed map[string]bool
	// reported holds the paths with an error already, so a driver's own
	// check of a generic field (rate_hz, address) does not repeat it.
	reported map[string]bool
	// overflowed holds the numbers too large for their int field (see
	// clampOverflows).
	overflowed []located
}

// add reports a problem at path. value is the Go value found (nil when the
// field is missing); the text written in the file is preferred, so that the
// message quotes "0x90" rather than 144.
func (r *reporter) add(path string, value any, msg string) {
	for p := path; ; p = parentPath(p) {
		if r.decodeFailed[p] {
			return
		}
		if p == "" {
			break
		}
	}
	line, text, written := r.index.locate(path)
	shown := ""
	switch v, isRedacted := value.(redacted); {
	case value == nil:
	case isRedacted:
		shown = string(v)
	case written:
		shown = quoteValue(text)
	default:
		shown = formatValue(value)
	}
	r.errs = append(r.errs, &FieldError{File: r.file, Line: line, Path: path, Value: shown, Msg: msg})
	r.reported[path] = true
}

// redacted is a value to show instead of what the file says, because the
// file holds a secret at that place.
type redacted string

func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return quoteValue(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

var (
	unknownField    = regexp.MustCompile(`^field (.+) not found in type (\S+)$`)
	cannotUnmarshal = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	duplicateKey    = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// decodeError rewrites one of yaml.v3's "line N: ..." messages into a
// FieldError with the field's path.
func (r *reporter) decodeError(msg string) {
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		r.errs = append(r.errs, &FieldError{File: r.file, Line: 1, Msg: msg})
		return
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	e := &FieldError{File: r.file, Line: line, Msg: rest}
	switch {
	case unknownField.MatchString(rest):
		f := unknownField.FindStringSubmatch(rest)
		if l, ok := r.index.find(line, func(l located) bool { return l.key != nil && l.key.Value == f[1] }); ok {
			e.Path = l.path
		} else {
			e.Path = f[1]
		}
		e.Msg = "is not a known key"
		if s := suggestKey(f[1], f[2]); s != "" {
			e.Msg += "; did you mean " + s + "?"
		}
	case cannotUnmarshal.MatchString(rest):
		u := cannotUnmarshal.FindStringSubmatch(rest)
		l, ok := r.index.find(line, func(l located) bool { return matchesNode(l.node, u[1], u[2]) })
		if ok && overflows(l.node, u[3]) {
			r.overflowed = append(r.overflowed, l)
			return
		}
		if ok {
			e.Path = l.path
			if l.node.Kind == yaml.ScalarNode {
				e.Value = quoteValue(l.node.Value)
			}
			r.decodeFailed[l.path] = true
		} else if u[2] != "" {
			e.Value = quoteValue(u[2])
		}
		e.Msg = typeMessage(u[1], u[3])
	case duplicateKey.MatchString(rest):
		d := duplicateKey.FindStringSubmatch(rest)
		if l, ok := r.index.find(line, func(l located) bool { return l.key != nil && l.key.Value == d[1] }); ok {
			e.Path = l.path
			// yaml.v3 drops the whole mapping holding a duplicate key.
			r.decodeFailed[parentPath(l.path)] = true
		}
		e.Msg = "is written twice (first at line " + d[2] + ")"
	}
	r.errs = append(r.errs, e)
}

// find returns the last (deepest) field on line that satisfies match.
func (x *nodeIndex) find(line int, match func(located) bool) (located, bool) {
	var found located
	ok := false
	for _, l := range x.all {
		if l.line() == line || l.node.Line == line {
			if match(l) {
				found, ok = l, true
			}
		}
	}
	return found, ok
}

// matchesNode tells whether n is the node a "cannot unmarshal" message is
// about; yaml.v3 shortens values longer than 10 bytes to 7 and "...".
func matchesNode(n *yaml.Node, tag, value string) bool {
	switch tag {
	case "!!seq":
		return n.Kind == yaml.SequenceNode
	case "!!map":
		return n.Kind == yaml.MappingNode
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if short, ok := strings.CutSuffix(value, "..."); ok && len(n.Value) > 10 {
		return strings.HasPrefix(n.Value, short)
	}
	return n.Value == value
}

// scalarMessages explain in operator words why a value does not fit a
// field of the given Go type.
var scalarMessages = map[string]string{
	"float64":         "is not a number",
	"int":             "is not a whole number",
	"int64":           "is not a whole number",
	"uint8":           "is not a whole number from 0 to 255",
	"uint16":          "is not a whole number from 0 to 65535",
	"*uint16":         "is not a whole number from 0 to 65535",
	"bool":            "is not true or false",
	"string":          "must be a single value",
	"time.Duration":   "is not a duration with a unit, like 200ms, 5s or 10m",
	"config.ByteSize": "is not a size like 256MiB, 64MB or 1048576",
}

func typeMessage(tag, goType string) string {
	if msg, ok := scalarMessages[goType]; ok {
		switch tag {
		case "!!seq":
			return "must be a single value, not a list"
		case "!!map":
			return "must be a single value, not a mapping"
		}
		return msg
	}
	if strings.HasPrefix(goType, "[]") {
		return "must be a list (lines starting with \"- \")"
	}
	return "must be a mapping of keys"
}

// suggestKey finds the known key of the Go type typeName closest to a
// misspelt one.
func suggestKey(bad, typeName string) string {
	t, ok := structTypes(reflect.TypeOf(Config{}), map[string]reflect.Type{})[typeName]
	if !ok {
		return ""
	}
	best, bestDist := "", 3
	for i := range t.NumField() {
		key := yamlKey(t.Field(i))
		d := editDistance(bad, key)
		if strings.HasPrefix(bad, key) || strings.HasPrefix(key, bad) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = key, d
		}
	}
	return best
}

// structTypes maps the names of every struct type reachable from t.
func structTypes(t reflect.Type, seen map[string]reflect.Type) map[string]reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return seen
	}
	if _, ok := seen[t.String()]; ok {
		return seen
	}
	seen[t.String()] = t
	for i := range t.NumField() {
		structTypes(t.Field(i).Type, seen)
	}
	return seen
}

// yamlKey is the key of a field; every field of Config is tagged.
func yamlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
