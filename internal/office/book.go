package office

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
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

// csvBook writes one register as CSV (UTF-8 with BOM, RFC 4180); the
// others are walked and dropped.
type csvBook struct {
	bw    *bufio.Writer
	v     vocab
	table string
}

func newCSVBook(w io.Writer, v vocab, table string) *csvBook {
	return &csvBook{bw: bufio.NewWriter(w), v: v, table: table}
}

func (b *csvBook) begin(r *register) (sheet, error) {
	if r.name != b.table {
		return discard{}, nil
	}
	if _, err := b.bw.WriteString(utf8BOM); err != nil {
		return nil, err
	}
	s := &csvSheet{cw: csv.NewWriter(b.bw), reg: r}
	return s, s.cw.Write(r.header(b.v))
}

func (b *csvBook) close() error { return b.bw.Flush() }

type csvSheet struct {
	cw  *csv.Writer
	reg *register
	buf []string
}

func (s *csvSheet) row(cells []any) error {
	s.buf = s.buf[:0]
	for i, c := range cells {
		s.buf = append(s.buf, text(s.reg.cols[i].kind, c))
	}
	return s.cw.Write(s.buf)
}

func (s *csvSheet) end() error {
	s.cw.Flush()
	return s.cw.Error()
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
