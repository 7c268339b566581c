package schema

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed v1/*.schema.json
var files embed.FS

// Dir is the folder of the embedded schemas inside FS.
const Dir = "v1"

// FS holds the embedded schemas, <topic>.schema.json under Dir.
func FS() fs.FS { return files }

// Topics are the last topic levels the contract defines, one schema each.
var Topics = []string{"status", "readings", "cases", "health", "daily"}

// The two ways a payload fails, for the quarantine's reason.
var (
	ErrMalformed = errors.New("malformed JSON")
	ErrInvalid   = errors.New("schema violation")
)

// Validator checks payloads against the compiled schemas; it is safe for
// concurrent use.
type Validator struct {
	schemas map[string]*jsonschema.Schema
}

// New compiles the embedded schemas; formats (date-time) are asserted, not
// only annotated, so a time the box must never send is refused.
func New() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	v := &Validator{schemas: map[string]*jsonschema.Schema{}}
	for _, topic := range Topics {
		name := path.Join(Dir, topic+".schema.json")
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		if err := c.AddResource(name, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		s, err := c.Compile(name)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		v.schemas[topic] = s
	}
	return v, nil
}

// Validate checks a payload published on topic (its last level, e.g.
// "readings"). The error says what is wrong, for the quarantine table.
func (v *Validator) Validate(topic string, payload []byte) error {
	s, ok := v.schemas[topic]
	if !ok {
		return fmt.Errorf("no schema for topic %q", topic)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, oneLine(err))
	}
	return nil
}

// oneLine flattens the validator's indented tree of causes.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
