package office

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// busyDay is a large school's day: nine grades, four lanes, three rounds,
// cases in every state, drills, six devices — the most one A4 page holds.
func busyDay() event.Daily {
	c := func(total, flag, retake, invalid int) event.Counts {
		return event.Counts{Total: total, Pass: total - flag - retake - invalid, Flag: flag, Retake: retake, Invalid: invalid}
	}
	d := event.Daily{Day: "2026-11-23", Totals: c(1710, 3, 12, 2),
		ByLane:      map[string]event.Counts{"lane-1": c(520, 1, 4, 1), "lane-2": c(530, 1, 4, 0), "lane-3": c(520, 1, 3, 1), "staff": c(140, 0, 1, 0)},
		LaneLabels:  map[string]string{"lane-1": "1号通道", "lane-2": "2号通道", "lane-3": "3号通道", "staff": "教职工通道"},
		ByRole:      map[string]event.Counts{"student": c(1570, 3, 11, 2), "staff": c(140, 0, 1, 0)},
		ByGrade:     map[string]event.Counts{},
		ByRound:     map[string]event.Counts{"morning": c(1600, 2, 10, 2), "noon": c(80, 1, 2, 0), "evening": c(30, 0, 0, 0)},
		Cases:       map[string]int{event.CaseCleared: 1, event.CaseReferred: 1, event.CaseClosed: 1},
		Disposition: map[string]int{event.DispositionParentFeverClinic: 1, event.DispositionCDCTransfer: 1},
		Absentees:   12, Drills: c(2, 2, 0, 0), Visitors: 5,
		AbsenceReasons: map[string]int{"illness": 4, "personal_leave": 5, "unrecorded": 3},
		IllByGrade:     map[string]int{"初一": 2, "3": 1, "5": 1}, IllSymptoms: map[string]int{"fever": 3, "cough": 2, "seen_doctor": 2},
		DeviceUptime: map[string]float64{"gun-1": 1, "gun-2": 0.97, "gun-3": 1, "gate-1": 0.999, "gate-2": 1, "recheck-1": 1},
		DeviceFaults: map[string]int{"gun-2": 1, "gate-1": 1},
	}
	for i, g := range []string{"初一", "初二", "初三", "1", "2", "3", "4", "5", "6"} {
		d.ByGrade[g] = c(170+i, i%2, 1, 0)
	}
	return d
}

func report(d event.Daily, lang string) Report {
	return Report{Daily: d, School: "海淀第十七中学", Gate: "东门", Lang: lang,
		Made: time.Date(2026, 11, 23, 18, 5, 0, 0, shanghai)}
}

// The text report: every breakdown, the lanes by their labels, the
// re-check funnel, drills apart; a zero report says 零报告 (issue #21.3).
func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, ReportText, report(busyDay(), LangZH)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"学校晨午检及因病缺勤日报告", "日期：2026-11-23", "■ 按年级", "初一", "■ 按通道", "教职工通道",
		"1    ", "6    ", "初一", "初二", "初三", "■ 按轮次", "晨检", "午检", "■ 按身份", "教职工", "体温异常（初检）", "送复检", "复检正常", "已转介", "处置：家长陪同发热门诊",
		"缺勤学生（对照名册）", "因病", "事假", "未登记", "因病缺勤　年级 初一", "症状：发热", "已就诊", "gun-2", "97.0%", "应急演练（不计入以上统计）", "带班校长（签字）"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if i, j, k := strings.Index(out, "\n6 "), strings.Index(out, "初一"), strings.Index(out, "初三"); !(i < j && j < k) {
		t.Errorf("grades out of school order:\n%s", out)
	}
	if strings.Contains(out, "零报告") {
		t.Errorf("a day with flags called a zero report:\n%s", out)
	}
	if !regexp.MustCompile(`合计 +1710 +1693 +3 +12 +2`).MatchString(out) {
		t.Errorf("totals not aligned in columns:\n%s", out)
	}
	buf.Reset()
	if err := WriteReport(&buf, ReportText, report(event.Daily{Day: "2026-11-24", Zero: true}, LangZH)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "【零报告：今日无体温异常、无复检病例。】") {
		t.Errorf("zero report does not say so:\n%s", buf.String())
	}
}

func TestReportXLSX(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, ReportXLSX, report(event.Daily{Day: "2026-11-24", Zero: true, Absentees: 3}, LangZH)); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("日报告")
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, r := range rows {
		all += strings.Join(r, "|") + "\n"
	}
	for _, want := range []string{"学校晨午检及因病缺勤日报告", "日期|2026-11-24", "零报告：今日无体温异常、无复检病例。", "缺勤学生（对照名册）|3", "带班校长（签字）"} {
		if !strings.Contains(all, want) {
			t.Errorf("xlsx report lacks %q:\n%s", want, all)
		}
	}
	if raw, _ := f.GetCellValue("日报告", "B2", excelize.Options{RawCellValue: true}); raw != "46350" {
		t.Errorf("the date is not a date cell: %q", raw)
	}
}

var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// printPDF prints an HTML file to PDF with headless Chromium, as a
// browser's "print" does, and returns the PDF.
func printPDF(t *testing.T, html []byte) []byte {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		ci.Missing(t, "chromium not installed (apt-get install -y chromium fonts-noto-cjk)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(in, html, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
		"--disable-background-networking", "--disable-component-update", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+out, "file://"+in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --print-to-pdf: %v\n%s", err, b)
	}
	pdf, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// The HTML report prints on one A4 page, busy day or zero report, and the
// zero report says 零报告 in large type (issue #21.3). Chromium prints it,
// as the office's browser would. SCREENSHOT_DIR also saves the printed
// pages as PNG (pdftoppm) for docs/screenshots/.
func TestReportHTMLPrintsOnOneA4Page(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    event.Daily
		lang string
	}{
		{"zh-CN-busy", busyDay(), LangZH},
		{"zh-CN-zero", event.Daily{Day: "2026-11-24", Zero: true, DeviceUptime: map[string]float64{"gun-1": 1}}, LangZH},
		{"en-busy", busyDay(), LangEN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteReport(&buf, ReportHTML, report(tc.d, tc.lang)); err != nil {
				t.Fatal(err)
			}
			html := buf.String()
			if zero := strings.Contains(html, `<p class="zero" id="zero">零报告`); zero != strings.HasSuffix(tc.name, "zero") {
				t.Errorf("零报告 shown: %v", zero)
			}
			pdf := printPDF(t, buf.Bytes())
			checkA4(t, pdf)
			if n := pages(pdf); n != 1 {
				t.Errorf("printed on %d pages, want 1", n)
			}
			if dir := os.Getenv("SCREENSHOT_DIR"); dir != "" {
				saveScreenshot(t, pdf, filepath.Join(dir, "report-"+tc.name+"-a4"))
			}
		})
	}
}

// The page count is real: a report with sixty grades takes two pages.
func TestReportPageCountCanFail(t *testing.T) {
	d := busyDay()
	for i := range 60 {
		d.ByGrade[fmt.Sprintf("grade %02d", i)] = event.Counts{Total: 1}
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, ReportHTML, report(d, LangZH)); err != nil {
		t.Fatal(err)
	}
	if n := pages(printPDF(t, buf.Bytes())); n < 2 {
		t.Fatalf("sixty grades on %d page(s)", n)
	}
}

func pages(pdf []byte) int { return len(pdfPage.FindAll(pdf, -1)) }

var mediaBox = regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`)

// checkA4 checks every page is A4, 210 × 297 mm = 595.3 × 841.9 pt.
func checkA4(t *testing.T, pdf []byte) {
	t.Helper()
	for _, m := range mediaBox.FindAllSubmatch(pdf, -1) {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		h, _ := strconv.ParseFloat(string(m[2]), 64)
		if math.Abs(w-595.3) > 1 || math.Abs(h-841.9) > 1 {
			t.Errorf("page of %.1f × %.1f pt, not A4", w, h)
		}
	}
}

func saveScreenshot(t *testing.T, pdf []byte, stem string) {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		ci.Missing(t, "pdftoppm not installed (apt-get install -y poppler-utils)")
	}
	in := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("pdftoppm", "-png", "-r", "80", "-singlefile", in, stem).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, b)
	}
}
