package report

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// SheetName is the workbook's one sheet.
const SheetName = "区县汇总表"

// WriteXLSX writes the summary as an .xlsx workbook: the Chinese headers
// in row 1 and the English under them, both frozen; columns wide enough
// for Chinese text; dates and times as spreadsheet dates (district time),
// counts as numbers.
func (s *Summary) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetName); err != nil {
		return err
	}
	styles, err := newStyles(f)
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetName)
	if err != nil {
		return err
	}
	widths := make([]int, len(columns))
	zh, en := make([]any, len(columns)), make([]any, len(columns))
	for i, c := range columns {
		widths[i] = max(displayWidth(c.zh), displayWidth(c.en))
		zh[i] = excelize.Cell{StyleID: styles.header, Value: c.zh}
		en[i] = excelize.Cell{StyleID: styles.subheader, Value: c.en}
	}
	var rows [][]any
	for _, r := range s.Rows {
		cells := make([]any, len(columns))
		for i, v := range s.cells(r) {
			k := columns[i].kind
			widths[i] = max(widths[i], displayWidth(format(k, v)))
			cells[i] = excelize.Cell{StyleID: styles.byKind[k], Value: v}
		}
		rows = append(rows, cells)
	}
	// Widths and panes go before the first row of a stream.
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, float64(wd+2)); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 2, TopLeftCell: "A3", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	for i, cells := range append([][]any{zh, en}, rows...) {
		if err := sw.SetRow(fmt.Sprintf("A%d", i+1), cells); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

type styles struct {
	header, subheader int
	byKind            map[kind]int
}

func newStyles(f *excelize.File) (styles, error) {
	st := styles{byKind: map[kind]int{}}
	dateFmt, stampFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	for k, s := range map[kind]*excelize.Style{
		text:  {},
		count: {NumFmt: 1},
		date:  {NumFmt: 14, CustomNumFmt: &dateFmt},
		stamp: {NumFmt: 22, CustomNumFmt: &stampFmt},
	} {
		id, err := f.NewStyle(s)
		if err != nil {
			return st, err
		}
		st.byKind[k] = id
	}
	var err error
	fill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}
	if st.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: fill}); err != nil {
		return st, err
	}
	st.subheader, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Italic: true, Color: "595959"}, Fill: fill})
	return st, err
}
