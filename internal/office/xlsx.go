package office

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// WriteXLSX writes every register as a sheet of an .xlsx workbook (Excel,
// WPS) from its CSV (as Ledger.Write writes it, in lang): frozen header
// row, columns wide enough for Chinese text, dates and times as
// spreadsheet dates, temperatures and counts as numbers. table opens a
// register's CSV by name.
//
// The workbook is made from CSV so that the process that asks for it makes
// it, not the daemon: excelize holds the sheets and the zip in memory,
// about 50 MiB for a month of a large school, more than the gate's whole
// memory budget.
func WriteXLSX(w io.Writer, lang string, table func(name string) (io.Reader, error)) error {
	v, err := newVocab(lang)
	if err != nil {
		return err
	}
	x := &xlsxBook{f: excelize.NewFile(), v: v, styles: map[kind]int{}}
	defer x.f.Close()
	if err := x.init(); err != nil {
		return err
	}
	for i, r := range registers {
		in, err := table(r.name)
		if err != nil {
			return err
		}
		if err := x.sheet(i, r, in); err != nil {
			return fmt.Errorf("xlsx: %s: %w", r.name, err)
		}
	}
	_, err = x.f.WriteTo(w)
	return err
}

type xlsxBook struct {
	f      *excelize.File
	v      vocab
	styles map[kind]int
	header int
}

// numFmts are the built-in number formats per kind (14 date, 21 h:mm:ss,
// 22 date and time, 2 "0.00", 1 "0"), with custom ones so every locale
// shows the ISO forms the CSV has.
var numFmts = map[kind]int{kDate: 14, kClock: 21, kStamp: 22, kTemp: 2, kInt: 1}

var customFmts = map[kind]string{kDate: "yyyy-mm-dd", kClock: "hh:mm:ss", kStamp: "yyyy-mm-dd hh:mm:ss"}

func (x *xlsxBook) init() error {
	for k, n := range numFmts {
		st := &excelize.Style{NumFmt: n}
		if f, ok := customFmts[k]; ok {
			st.CustomNumFmt = &f
		}
		id, err := x.f.NewStyle(st)
		if err != nil {
			return err
		}
		x.styles[k] = id
	}
	var err error
	x.header, err = x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	return err
}

// sheet streams one register's CSV into sheet number i.
func (x *xlsxBook) sheet(i int, r *register, in io.Reader) error {
	name := r.title(x.v)
	if i == 0 {
		if err := x.f.SetSheetName("Sheet1", name); err != nil {
			return err
		}
	} else if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	header := r.header(x.v)
	cr := csv.NewReader(in)
	got, err := cr.Read()
	if err != nil {
		return err
	}
	if len(got) > 0 {
		got[0] = strings.TrimPrefix(got[0], utf8BOM)
	}
	if !slices.Equal(got, header) {
		return fmt.Errorf("the CSV's header %q is not the register's %q (a daemon of another version?)", got, header)
	}
	for i, c := range r.cols {
		// +2: a cell's padding; Excel's widths count digits of the default
		// font, a little narrower than half a CJK character.
		if err := sw.SetColWidth(i+1, i+1, float64(max(displayWidth(header[i]), c.wide)+2)); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{StyleID: x.header, Value: h}
	}
	if err := sw.SetRow("A1", cells); err != nil {
		return err
	}
	next := cr.Read
	if r == &readingsRegister {
		if next, err = byClass(cr, slices.IndexFunc(r.cols, func(c column) bool { return c.en == "class" })); err != nil {
			return err
		}
	}
	row := 2
	for ; ; row++ {
		rec, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		for i, s := range rec {
			cells[i] = x.cell(r.cols[i].kind, s)
		}
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, cells[:len(rec)]); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	// A filter on every column: the office picks a class, a day, the flags.
	last, err := excelize.CoordinatesToCellName(len(header), max(row-1, 2))
	if err != nil {
		return err
	}
	return x.f.AutoFilter(name, "A1:"+last, nil)
}

// byClass reads the readings register whole and returns its rows by class
// (the register a class teacher keeps), in time order within a class; rows
// of nobody known come last. The companion's process holds them, not the
// daemon's.
func byClass(cr *csv.Reader, class int) (func() ([]string, error), error) {
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(a, b []string) int {
		ca, cb := a[class], b[class]
		switch {
		case ca == cb:
			return 0
		case ca == "":
			return 1
		case cb == "":
			return -1
		}
		return strings.Compare(ca, cb)
	})
	return func() ([]string, error) {
		if len(rows) == 0 {
			return nil, io.EOF
		}
		r := rows[0]
		rows = rows[1:]
		return r, nil
	}, nil
}

// cell turns a CSV value back into a typed cell; what does not parse stays
// text, an empty value an empty cell.
func (x *xlsxBook) cell(k kind, s string) any {
	if s == "" {
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "'"); ok && k == kText && formulaLike(rest) {
		return rest // an inline string cell: a workbook never runs it
	}
	var v any
	switch k {
	case kDate:
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			v = t // a spreadsheet date has no zone: the school's wall clock as UTC
		}
	case kStamp:
		if t, err := time.Parse(time.DateTime, s); err == nil {
			v = t
		}
	case kClock:
		if t, err := time.Parse(time.TimeOnly, s); err == nil {
			v = float64(t.Hour()*3600+t.Minute()*60+t.Second()) / 86400 // a time of day is a fraction of a day
		}
	case kTemp:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			v = f
		}
	case kInt:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			v = n
		}
	}
	if v == nil {
		return s
	}
	return excelize.Cell{StyleID: x.styles[k], Value: v}
}
