package office

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/gatescreen/gatescreen/event"
)

// -format xlsx writes a workbook an office opens in Excel or WPS (issue
// #21.2): a sheet per register, the header row frozen, columns wide enough
// for their Chinese text, dates and temperatures as numbers a spreadsheet
// can sort and sum. The test reads the file back with excelize.
func TestLedgerXLSX(t *testing.T) {
	var buf bytes.Buffer
	req, err := ParseRequest(Request{From: "2026-11-23", To: "2026-11-23", Format: FormatXLSX}.Query())
	if err != nil {
		t.Fatal(err)
	}
	if err := testLedger(t).Write(&buf, req); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{"晨午检登记表", "复检处置登记表", "缺勤登记表", "每日汇总"}; !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	const readings = "晨午检登记表"
	rows, err := f.GetRows(readings)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "日期" || rows[0][6] != "姓名" {
		t.Fatalf("readings sheet %q", rows)
	}
	filters := 0
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm._FilterDatabase" {
			filters++
		}
	}
	if filters != len(registers) {
		t.Errorf("%d sheets with a filter on the header, want %d: %+v", filters, len(registers), f.GetDefinedName())
	}
	// Shown as the CSV shows them…
	for cell, want := range map[string]string{"A2": "2026-11-23", "B2": "07:10:00", "D2": "1号通道", "G2": "王小明",
		"I2": "36.60", "K3": "体温异常", "M3": "送复检区 R-001"} {
		if got, _ := f.GetCellValue(readings, cell); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
	}
	// …but stored as numbers: a date serial and a temperature.
	for cell, want := range map[string]float64{"A2": 46349, "I2": 36.6, "V2": 1} {
		typ, _ := f.GetCellType(readings, cell)
		raw, _ := f.GetCellValue(readings, cell, excelize.Options{RawCellValue: true})
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || int(v*100) != int(want*100) || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) {
			t.Errorf("%s: raw %q type %v, want the number %v", cell, raw, typ, want)
		}
	}
	if raw, _ := f.GetCellValue(readings, "B2", excelize.Options{RawCellValue: true}); !nearly(raw, (7*60+10)/1440.0) {
		t.Errorf("B2 raw %q: want the time of day 07:10 as a fraction of a day", raw)
	}
	for _, sheet := range f.GetSheetList() {
		panes, err := f.GetPanes(sheet)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("%s: header row not frozen: %+v %v", sheet, panes, err)
		}
	}
	rows, _ = f.GetRows(readings)
	for i, h := range rows[0] {
		name, _ := excelize.ColumnNumberToName(i + 1)
		w, _ := f.GetColWidth(readings, name)
		need := displayWidth(h)
		for _, row := range rows[1:] {
			if i < len(row) {
				need = max(need, displayWidth(row[i]))
			}
		}
		if w < float64(need) {
			t.Errorf("column %s %q is %.0f wide, its text needs %d", name, h, w, need)
		}
	}
	cases, _ := f.GetRows("复检处置登记表")
	if len(cases) != 2 || cases[1][1] != "R-001" || cases[1][10] != "已转介" || cases[1][2] != "2026-11-23 07:11:00" {
		t.Errorf("cases sheet %q", cases)
	}
	absences, _ := f.GetRows("缺勤登记表")
	if len(absences) != 2 || absences[1][3] != "张伟" {
		t.Errorf("absences sheet %q", absences)
	}
	daily, _ := f.GetRows("每日汇总")
	if len(daily) != 2 || daily[1][1] != "3" {
		t.Errorf("daily sheet %q", daily)
	}
}

func nearly(raw string, want float64) bool {
	v, err := strconv.ParseFloat(raw, 64)
	return err == nil && v-want < 1e-6 && want-v < 1e-6
}

// The readings sheet is by class, in time order within one, the rows of
// nobody known last.
func TestReadingsByClass(t *testing.T) {
	in := "h,class\n1,二(3)班\n2,\n3,一(1)班\n4,二(3)班\n5,一(1)班\n"
	cr := csv.NewReader(strings.NewReader(in))
	cr.Read() // header
	next, err := byClass(cr, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := next()
		if err != nil {
			break
		}
		got = append(got, rec[0])
	}
	if want := []string{"3", "5", "1", "4", "2"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// Free text that a spreadsheet would run as a formula (an outcome typed at
// the desk, a name in the roster) is written as text: with an apostrophe in
// the CSV, as a plain string cell in the workbook.
func TestFormulaLikeTextStaysText(t *testing.T) {
	l := testLedger(t)
	m := l.Store.(*memStore)
	for i := range m.events {
		if m.events[i].Kind == event.KindCase {
			var c event.Case
			m.events[i].Decode(&c)
			c.Outcome = `=HYPERLINK("http://evil.example","x")`
			m.events[i].Body, _ = json.Marshal(c)
		}
	}
	rows := exportCSV(t, l, map[string]string{"table": TableCases})
	if got := cols(t, rows[0])(rows[1], "结果说明"); got != `'=HYPERLINK("http://evil.example","x")` {
		t.Errorf("CSV outcome %q", got)
	}
	var buf bytes.Buffer
	req, _ := ParseRequest(Request{From: "2026-11-23", To: "2026-11-23", Format: FormatXLSX}.Query())
	if err := l.Write(&buf, req); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("复检处置登记表", "N2"); v != `=HYPERLINK("http://evil.example","x")` {
		t.Errorf("xlsx outcome %q", v)
	}
	if formula, _ := f.GetCellFormula("复检处置登记表", "N2"); formula != "" {
		t.Errorf("xlsx outcome is a formula: %q", formula)
	}
}
