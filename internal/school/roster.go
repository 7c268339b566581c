package school

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Person is one roster entry. Name stays on the box: it is shown on the local
// screen and in the ledger export, never uploaded.
type Person struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Class string `json:"class"`
	Grade string `json:"grade"`
	Role  string `json:"role"`
	Card  string `json:"card,omitempty"`
}

// Roster is the school's people, looked up by id and by card UID.
type Roster struct {
	People []Person
	// Encoding is how the file was read: UTF-8, or GB18030 (what Excel in
	// China saves as "CSV").
	Encoding string
	byID     map[string]int
	byCard   map[string]int
	lines    []int  // file line of each person, for duplicate messages
	file     string // the file read, for messages
}

// columns of the roster CSV; each accepts its English or Chinese header.
var columns = []struct {
	key     string
	headers []string
	need    bool
}{
	{"id", []string{"id", "学号", "编号", "工号"}, true},
	{"name", []string{"name", "姓名"}, true},
	{"class", []string{"class", "班级"}, false},
	{"grade", []string{"grade", "年级"}, false},
	{"role", []string{"role", "角色", "身份"}, false},
	{"card_uid", []string{"card_uid", "card", "卡号"}, false},
}

var roles = map[string]string{
	"student": "student", "学生": "student",
	"staff": "staff", "教职工": "staff", "教师": "staff", "teacher": "staff",
}

// LineError is a roster mistake on one line of the file: the column is
// numbered from 1 and named by the file's own header.
type LineError struct {
	File   string
	Line   int
	Column int
	Field  string
	Value  string
	Msg    string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	if e.Column == 0 {
		return fmt.Sprintf("%s:%d: %s: %q %s", e.File, e.Line, e.Field, e.Value, e.Msg)
	}
	return fmt.Sprintf("%s:%d: column %d %s: %q %s", e.File, e.Line, e.Column, e.Field, e.Value, e.Msg)
}

// LoadRoster reads a roster CSV file.
func LoadRoster(path string) (*Roster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	return ParseRoster(path, data)
}

// LoadRosterIfAny is LoadRoster where a file not yet imported is no
// roster (nil), not an error.
func LoadRosterIfAny(path string) (*Roster, error) {
	if path == "" {
		return nil, nil
	}
	ro, err := LoadRoster(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return ro, err
}

// ParseRoster parses a roster CSV (header line first; UTF-8 with or
// without BOM, or GB18030) and returns every error found, each naming its
// line, column and value.
func ParseRoster(name string, data []byte) (*Roster, error) {
	ro, errs := parseRoster(name, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ro, nil
}

// parseRoster returns the people of the lines that are right and the
// mistakes of the others; the roster is nil when the file cannot be read
// at all (encoding, header).
func parseRoster(name string, data []byte) (*Roster, []error) {
	data, enc, err := decodeRoster(data)
	if err != nil {
		return nil, []error{&LineError{File: name, Line: 1, Msg: err.Error()}}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	h, errs := readHeader(r, name)
	if len(errs) > 0 {
		return nil, errs
	}
	ro := &Roster{Encoding: enc, file: name, byID: map[string]int{}, byCard: map[string]int{}}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			lineErr, more := readError(name, err)
			errs = append(errs, lineErr)
			if !more {
				break
			}
			continue
		}
		line, _ := r.FieldPos(0)
		errs = append(errs, ro.add(h, rec, line)...)
	}
	return ro, errs
}

// rosterHeader is the header line of a roster file: its cells as written
// and the column of each key of columns found among them.
type rosterHeader struct {
	cells []string
	index map[string]int
}

// readHeader reads the header line; the errors name every required column
// it lacks.
func readHeader(r *csv.Reader, name string) (*rosterHeader, []error) {
	cells, err := r.Read()
	if err != nil {
		return nil, []error{&LineError{File: name, Line: 1, Msg: "no header line: " + err.Error()}}
	}
	h := &rosterHeader{cells: cells, index: map[string]int{}}
	for i, cell := range cells {
		cell = strings.ToLower(strings.TrimSpace(cell))
		for _, c := range columns {
			for _, alias := range c.headers {
				if cell == alias {
					h.index[c.key] = i
				}
			}
		}
	}
	var errs []error
	for _, c := range columns {
		if _, ok := h.index[c.key]; c.need && !ok {
			errs = append(errs, &LineError{File: name, Line: 1, Msg: fmt.Sprintf("header has no %q column (found %s)", c.key, strings.Join(cells, ","))})
		}
	}
	return h, errs
}

// field is the cell of key on a line, "" when the file has no such column.
func (h *rosterHeader) field(rec []string, key string) string {
	if i, ok := h.index[key]; ok && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// readError is a line the CSV reader could not read; more says whether
// reading may go on (the line's fault) or not (nothing more can be read).
func readError(name string, err error) (lineErr *LineError, more bool) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LineError{File: name, Line: pe.Line, Msg: pe.Err.Error()}, true
	}
	return &LineError{File: name, Msg: err.Error()}, false
}

// add checks the person on one line and adds it, unless its id or card is
// taken already; it returns the line's mistakes.
func (ro *Roster) add(h *rosterHeader, rec []string, line int) []error {
	var errs []error
	bad := func(key, v, msg string) {
		i := h.index[key]
		errs = append(errs, &LineError{File: ro.file, Line: line, Column: i + 1, Field: strings.TrimSpace(h.cells[i]), Value: v, Msg: msg})
	}
	p := Person{ID: h.field(rec, "id"), Name: h.field(rec, "name"), Class: h.field(rec, "class"),
		Grade: h.field(rec, "grade"), Card: NormalizeCard(h.field(rec, "card_uid"))}
	if p.ID == "" {
		bad("id", p.ID, "is empty")
	} else if len(p.ID) > 24 {
		bad("id", p.ID, "is longer than 24 bytes")
	}
	if p.Name == "" {
		bad("name", p.Name, "is empty")
	}
	role, ok := roles[strings.ToLower(h.field(rec, "role"))]
	switch {
	case h.field(rec, "role") == "":
		role = "student"
	case !ok:
		bad("role", h.field(rec, "role"), "is not student or staff (学生/教职工)")
	}
	p.Role = role
	if i, dup := ro.byID[p.ID]; dup && p.ID != "" {
		bad("id", p.ID, fmt.Sprintf("is also on line %d", ro.lineOf(i)))
		return errs
	}
	if i, dup := ro.byCard[p.Card]; dup && p.Card != "" {
		bad("card_uid", p.Card, fmt.Sprintf("is also used by %s", ro.People[i].ID))
		return errs
	}
	ro.byID[p.ID] = len(ro.People)
	if p.Card != "" {
		ro.byCard[p.Card] = len(ro.People)
	}
	ro.People = append(ro.People, p)
	ro.lines = append(ro.lines, line)
	return errs
}

func (ro *Roster) lineOf(i int) int { return ro.lines[i] }

// decodeRoster returns the file as UTF-8 without BOM, and how it was
// encoded. A file that is not valid UTF-8 is read as GB18030, a superset of
// GBK: what Excel and WPS in China save as "CSV".
func decodeRoster(data []byte) ([]byte, string, error) {
	if b, ok := bytes.CutPrefix(data, []byte("\xef\xbb\xbf")); ok {
		return b, "UTF-8", nil
	}
	if utf8.Valid(data) {
		return data, "UTF-8", nil
	}
	b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil {
		return nil, "", fmt.Errorf("neither UTF-8 nor GB18030: %w", err)
	}
	return b, "GB18030", nil
}

// NormalizeCard makes card UIDs comparable: upper case, no separators.
func NormalizeCard(uid string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', ':', '-':
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, strings.TrimSpace(uid))
}

// ByCard returns the person holding a card.
func (ro *Roster) ByCard(uid string) (Person, bool) {
	if ro == nil {
		return Person{}, false
	}
	i, ok := ro.byCard[NormalizeCard(uid)]
	if !ok {
		return Person{}, false
	}
	return ro.People[i], true
}

// ByID returns the person with a roster id.
func (ro *Roster) ByID(id string) (Person, bool) {
	if ro == nil {
		return Person{}, false
	}
	i, ok := ro.byID[id]
	if !ok {
		return Person{}, false
	}
	return ro.People[i], true
}

// Grades returns the grades present in the roster, sorted.
func (ro *Roster) Grades() []string {
	seen := map[string]bool{}
	for _, p := range ro.People {
		if p.Grade != "" {
			seen[p.Grade] = true
		}
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}
