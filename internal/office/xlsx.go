package office

import (
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"
)

// xlsxBook writes every register as a sheet of an .xlsx workbook (Excel,
// WPS): frozen header row, columns wide enough for Chinese text, dates and
// times as spreadsheet dates. Rows are streamed: a month of readings does
// not sit in memory.
type xlsxBook struct {
	w      io.Writer
	v      vocab
	f      *excelize.File
	sheets int
	styles map[kind]int
	header int
}

func newXLSXBook(w io.Writer, v vocab) *xlsxBook { return &xlsxBook{w: w, v: v} }

// numFmts are the built-in number formats per kind: 14 is a date
// (yyyy-mm-dd in a Chinese Excel), 21 h:mm:ss, 22 date and time, 2 "0.00".
var numFmts = map[kind]int{kDate: 14, kClock: 21, kStamp: 22, kTemp: 2, kInt: 1}

// Custom formats so every locale shows the ISO forms the CSV has.
var customFmts = map[kind]string{kDate: "yyyy-mm-dd", kClock: "hh:mm:ss", kStamp: "yyyy-mm-dd hh:mm:ss"}

func (b *xlsxBook) init() error {
	b.f = excelize.NewFile()
	b.styles = map[kind]int{}
	for k, n := range numFmts {
		st := &excelize.Style{NumFmt: n}
		if f, ok := customFmts[k]; ok {
			st.CustomNumFmt = &f
		}
		id, err := b.f.NewStyle(st)
		if err != nil {
			return err
		}
		b.styles[k] = id
	}
	var err error
	b.header, err = b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	return err
}

func (b *xlsxBook) begin(r *register) (sheet, error) {
	if b.f == nil {
		if err := b.init(); err != nil {
			return nil, err
		}
	}
	name := r.title(b.v)
	if b.sheets == 0 {
		if err := b.f.SetSheetName("Sheet1", name); err != nil {
			return nil, err
		}
	} else if _, err := b.f.NewSheet(name); err != nil {
		return nil, err
	}
	b.sheets++
	sw, err := b.f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	header := r.header(b.v)
	for i, c := range r.cols {
		// +2: a cell's padding, and Excel's widths are in digits of the
		// default font, a little narrower than half a CJK character.
		if err := sw.SetColWidth(i+1, i+1, float64(max(displayWidth(header[i]), c.wide)+2)); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{StyleID: b.header, Value: h}
	}
	if err := sw.SetRow("A1", cells); err != nil {
		return nil, err
	}
	return &xlsxSheet{b: b, sw: sw, reg: r, next: 2}, nil
}

func (b *xlsxBook) close() error {
	if b.f == nil {
		return fmt.Errorf("xlsx: no sheet")
	}
	defer b.f.Close()
	_, err := b.f.WriteTo(b.w)
	return err
}

type xlsxSheet struct {
	b    *xlsxBook
	sw   *excelize.StreamWriter
	reg  *register
	next int
	buf  []any
}

func (s *xlsxSheet) row(cells []any) error {
	s.buf = s.buf[:0]
	for i, c := range cells {
		k := s.reg.cols[i].kind
		switch v := c.(type) {
		case nil:
			s.buf = append(s.buf, nil)
			continue
		case time.Time:
			// A spreadsheet date has no zone: write the school's wall clock,
			// and a date column the day alone.
			if k == kDate {
				c = time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)
			} else {
				c = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), 0, time.UTC)
			}
		}
		if st, ok := s.b.styles[k]; ok {
			c = excelize.Cell{StyleID: st, Value: c}
		}
		s.buf = append(s.buf, c)
	}
	cell, err := excelize.CoordinatesToCellName(1, s.next)
	if err != nil {
		return err
	}
	s.next++
	return s.sw.SetRow(cell, s.buf)
}

func (s *xlsxSheet) end() error { return s.sw.Flush() }
