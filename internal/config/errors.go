package config

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// ErrInvalid matches, with errors.Is, every error saying the configuration
// is wrong (Errors from Load and Parse, bad secret files from ReadSecrets),
// as opposed to a file that could not be read. Restarting the daemon will
// not fix it.
var ErrInvalid = errors.New("invalid configuration")

// FieldError is one problem in a configuration file.
type FieldError struct {
	// File is the name the configuration was loaded from.
	File string
	// Line is the 1-based line of the field, or of its closest enclosing
	// section when the field is missing.
	Line int
	// Path names the field: "devices[1].baud". Empty for problems of the
	// whole file, such as a YAML syntax error.
	Path string
	// Value is the bad value as written in the file; empty when the field is
	// missing.
	Value string
	// Msg says what is wrong, completing the sentence that starts with Value.
	Msg string
}

// Error reads "configs/gate.yaml:14: devices[1].baud: 9601 is not a
// supported baud rate".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Value != "" {
		b.WriteString(e.Value)
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration file, in line order.
type Errors []*FieldError

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (es Errors) Is(target error) bool { return target == ErrInvalid }

// Unwrap lets errors.As find a single *FieldError.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// quoteValue makes a value unambiguous inside a message: empty strings and
// values with spaces or quotes are quoted, the rest is printed as written.
func quoteValue(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' || r == '\''
	}) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
