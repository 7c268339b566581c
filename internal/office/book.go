package office

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// A book receives the registers of a ledger one after the other.
type book interface {
	// begin starts a register and writes its header.
	begin(r *register) (sheet, error)
	// close finishes the book once every register has ended.
	close() error
}

// A sheet receives a register's rows, one cell per column: string, int64,
// float64 (°C), time.Time (local, shown as the column's kind) or nil for
// empty (not applicable, never a misleading 0).
type sheet interface {
	row(cells []any) error
	end() error
}

// utf8BOM makes Excel open a CSV as UTF-8, so Chinese text is readable.
const utf8BOM = "\uFEFF"

// csvBook writes registers as CSV (UTF-8 with BOM, RFC 4180), each to its
// own writer; a register without one is walked and dropped.
type csvBook struct {
	out map[string]*bufio.Writer
	v   vocab
}

func newCSVBook(v vocab, out map[string]io.Writer) *csvBook {
	b := &csvBook{out: map[string]*bufio.Writer{}, v: v}
	for name, w := range out {
		b.out[name] = bufio.NewWriter(w)
	}
	return b
}

func (b *csvBook) begin(r *register) (sheet, error) {
	bw, ok := b.out[r.name]
	if !ok {
		return discard{}, nil
	}
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return nil, err
	}
	s := &csvSheet{cw: csv.NewWriter(bw), reg: r}
	return s, s.cw.Write(r.header(b.v))
}

func (b *csvBook) close() error {
	for _, bw := range b.out {
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

type csvSheet struct {
	cw  *csv.Writer
	reg *register
	buf []string
}

func (s *csvSheet) row(cells []any) error {
	s.buf = s.buf[:0]
	for i, c := range cells {
		k := s.reg.cols[i].kind
		t := text(k, c)
		if k == kText && formulaLike(t) {
			t = "'" + t
		}
		s.buf = append(s.buf, t)
	}
	return s.cw.Write(s.buf)
}

func (s *csvSheet) end() error {
	s.cw.Flush()
	return s.cw.Error()
}

// formulaLike tells text that Excel and WPS would run as a formula when
// they open a CSV ("=HYPERLINK(…)" typed as an outcome or a roster name):
// such a cell is written with a leading apostrophe, which they show as
// text and WriteXLSX takes off again.
func formulaLike(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

// text writes a cell as CSV text.
func text(k kind, c any) string {
	switch c := c.(type) {
	case nil:
		return ""
	case string:
		return c
	case int64:
		return strconv.FormatInt(c, 10)
	case float64:
		return strconv.FormatFloat(c, 'f', 2, 64)
	case time.Time:
		switch k {
		case kDate:
			return c.Format(time.DateOnly)
		case kClock:
			return c.Format(time.TimeOnly)
		}
		return c.Format(time.DateTime)
	}
	panic(fmt.Sprintf("office: cell of type %T", c)) // a programming error in this package
}

type discard struct{}

func (discard) row([]any) error { return nil }
func (discard) end() error      { return nil }
