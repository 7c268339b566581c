package office

import (
	"bufio"
	_ "embed"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// text writes the report for a terminal: columns aligned by display width.
func (s *reportSheet) text(w io.Writer) error {
	bw := bufio.NewWriter(w)
	line := func(parts ...string) { bw.WriteString(strings.Join(parts, "") + "\n") }
	line(s.Title)
	var facts []string
	for _, f := range s.Facts {
		facts = append(facts, f[0]+s.v.text("：", ": ")+f[1])
	}
	line(strings.Join(facts, "  "))
	if s.Zero != "" {
		line("【", s.Zero, "】")
	}
	if s.Late != "" {
		line(s.Late)
	}
	for _, sec := range s.Sections {
		line()
		line("■ ", sec.Title)
		widths := make([]int, len(sec.Head))
		for _, row := range append([][]string{sec.Head}, sec.Rows...) {
			for i, c := range row {
				widths[i] = max(widths[i], displayWidth(c))
			}
		}
		for _, row := range append([][]string{sec.Head}, sec.Rows...) {
			var b strings.Builder
			for i, c := range row {
				pad := strings.Repeat(" ", widths[i]-displayWidth(c))
				if i == 0 {
					b.WriteString(c + pad)
				} else {
					b.WriteString("  " + pad + c) // numbers align right
				}
			}
			line(strings.TrimRight(b.String(), " "))
		}
		if sec.Note != "" {
			line(sec.Note)
		}
	}
	line()
	for _, sg := range s.Sign {
		line(sg, s.v.text("：", ": "), "____________")
	}
	return bw.Flush()
}

//go:embed report.html.tmpl
var reportHTML string

var reportTemplate = template.Must(template.New("report").Parse(reportHTML))

// html writes the report as one self-contained page that prints on one A4
// sheet (the test prints it with Chromium and counts the pages).
func (s *reportSheet) html(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := reportTemplate.Execute(bw, s); err != nil {
		return err
	}
	return bw.Flush()
}

// Lang is the page's language tag, for the template.
func (s *reportSheet) Lang() string { return s.v.lang }

// xlsx writes the report as one sheet, its sections one under the other.
func (s *reportSheet) xlsx(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	x := &rowWriter{f: f, sheet: s.v.text("日报告", "daily report"), row: 1}
	x.err = f.SetSheetName("Sheet1", x.sheet)
	title := x.style(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	bold := x.style(&excelize.Style{Font: &excelize.Font{Bold: true}})
	dateFmt := "yyyy-mm-dd"
	date := x.style(&excelize.Style{NumFmt: 14, CustomNumFmt: &dateFmt})

	x.put(title, s.Title)
	x.put(0, s.Facts[0][0], s.date)
	x.styleCell("B2", date)
	for _, fact := range s.Facts[1:] {
		x.put(0, fact[0], fact[1])
	}
	for _, t := range []string{s.Zero, s.Late} {
		if t != "" {
			x.put(title, t)
		}
	}
	for _, sec := range s.Sections {
		x.row++
		x.put(bold, sec.Title)
		x.put(bold, cells(sec.Head)...)
		for _, r := range sec.Rows {
			x.put(0, cells(r)...)
		}
		if sec.Note != "" {
			x.put(0, sec.Note)
		}
	}
	x.row++
	for _, sg := range s.Sign {
		x.put(bold, sg)
	}
	if x.err == nil {
		x.err = f.SetColWidth(x.sheet, "A", "A", 32)
	}
	if x.err == nil {
		x.err = f.SetColWidth(x.sheet, "B", "F", 11)
	}
	if x.err != nil {
		return x.err
	}
	_, err := f.WriteTo(w)
	return err
}

// rowWriter writes rows one under the other and keeps the first error.
type rowWriter struct {
	f     *excelize.File
	sheet string
	row   int
	err   error
}

func (x *rowWriter) style(st *excelize.Style) int {
	if x.err != nil {
		return 0
	}
	var id int
	id, x.err = x.f.NewStyle(st)
	return id
}

func (x *rowWriter) put(style int, values ...any) {
	if x.err != nil {
		return
	}
	first, _ := excelize.CoordinatesToCellName(1, x.row)
	last, _ := excelize.CoordinatesToCellName(len(values), x.row)
	x.row++
	if x.err = x.f.SetSheetRow(x.sheet, first, &values); x.err == nil && style != 0 {
		x.err = x.f.SetCellStyle(x.sheet, first, last, style)
	}
}

func (x *rowWriter) styleCell(cell string, style int) {
	if x.err == nil {
		x.err = x.f.SetCellStyle(x.sheet, cell, cell, style)
	}
}

// cells makes counts number cells, so the sheet can sum them.
func cells(row []string) []any {
	out := make([]any, len(row))
	for i, c := range row {
		out[i] = c
		if n, err := strconv.Atoi(c); err == nil {
			out[i] = n
		}
	}
	return out
}
