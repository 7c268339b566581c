package main

import (
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/xuri/excelize/v2"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
)

// officeGate writes a gate configuration with a labelled lane and a
// roster under dir, imports the roster and stores a pass and a flag of
// 2026-11-23; it returns the configuration's path.
func officeGate(t *testing.T, dir string) string {
	t.Helper()
	cfg := writeGate(t, dir, "{name: lane-1, label: 1号通道, role: student, device: gun-1}")
	db := filepath.Join(dir, "events.db")
	src := filepath.Join(dir, "students.csv")
	if err := os.WriteFile(src, []byte("学号,姓名,班级,年级\nS1,王小明,一(1)班,1\nS2,李小红,一(1)班,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary(t), "roster", "import", "-config", cfg, src).CombinedOutput(); err != nil {
		t.Fatalf("roster import: %v\n%s", err, out)
	}
	st, err := storage.Open(db, storage.Opts{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 7, 10, 0, 0, shanghai)
	body := func(c float64) *float64 { return &c }
	for i, r := range []event.Reading{
		{Lane: "lane-1", Role: "student", Device: "gun-1", BodyC: body(36.6), Verdict: event.VerdictPass, PersonID: "S1", Round: "morning"},
		{Lane: "lane-1", Role: "student", Device: "gun-1", BodyC: body(37.8), Verdict: event.VerdictFlag, Reason: "threshold", PersonID: "S2", Round: "morning", Ticket: "R-001"},
	} {
		ev, err := event.New(event.KindReading, r)
		if err != nil {
			t.Fatal(err)
		}
		ev.Wall, ev.ClockSynced = at.Add(time.Duration(i)*time.Minute).UnixNano(), true
		if err := st.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	ev, _ := event.New(event.KindCase, event.Case{Ticket: "R-001", Day: "2026-11-23", Lane: "lane-1", Role: "student",
		State: event.CaseAwaitingRecheck, FlagC: body(37.8), Actor: "system", PersonID: "S2", OpenedAt: event.TimeOf(at.Add(time.Minute))})
	ev.Wall = at.Add(time.Minute).UnixNano()
	if err := st.Append(ev); err != nil {
		t.Fatal(err)
	}
	ev, _ = event.New(event.KindDaily, event.Daily{Day: "2026-11-23", Totals: event.Counts{Total: 2, Pass: 1, Flag: 1},
		ByLane: map[string]event.Counts{"lane-1": {Total: 2, Pass: 1, Flag: 1}}, Cases: map[string]int{event.CaseAwaitingRecheck: 1}})
	ev.Wall = time.Date(2026, 11, 23, 18, 0, 0, 0, shanghai).UnixNano()
	if err := st.Append(ev); err != nil {
		t.Fatal(err)
	}
	ev, _ = event.New(event.KindDaily, event.Daily{Day: "2026-11-24", Zero: true})
	ev.Wall = time.Date(2026, 11, 24, 18, 0, 0, 0, shanghai).UnixNano()
	if err := st.Append(ev); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// writeGate writes dir/gate.yaml: one gun on lane, the store and the
// roster (roster.csv) in dir; it returns the file's path.
func writeGate(t *testing.T, dir, lane string) string {
	t.Helper()
	cfg := filepath.Join(dir, "gate.yaml")
	yml := "site: {district: haidian, school: no1, gate: north}\n" +
		"devices: [{name: gun-1, driver: gymcu90614, port: /dev/null, mode: skin, offset_c: 2.6}]\n" +
		"lanes: [" + lane + "]\n" +
		"storage: {path: " + filepath.Join(dir, "events.db") + "}\n" +
		"school: {roster: " + filepath.Join(dir, "roster.csv") + "}\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// openXLSX runs cmd, which writes the workbook path, and opens it.
func openXLSX(t *testing.T, cmd *exec.Cmd, path string) *excelize.File {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, out)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readCSV(t *testing.T, out []byte) [][]string {
	t.Helper()
	s, ok := strings.CutPrefix(string(out), "\ufeff")
	if !ok {
		t.Fatalf("no UTF-8 BOM: %q", out)
	}
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return rows
}

// `gatescreen export` writes the register a school keeps (issue #21.1):
// Chinese values, 班级/姓名 from the roster, the lane's label, readings
// apart from cases; -identity id leaves the names out.
func TestExportLedgerInChinese(t *testing.T) {
	bin := binary(t)
	cfg := officeGate(t, t.TempDir())
	out, err := exec.Command(bin, "export", "-config", cfg, "-from", "2026-11-23").Output()
	if err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	rows := readCSV(t, out)
	if len(rows) != 3 {
		t.Fatalf("want the header and two readings (the case is a register of its own):\n%q", rows)
	}
	col := func(row []string, name string) string {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("no column %q in %q", name, rows[0])
		}
		return row[i]
	}
	for _, want := range [][2]string{{"姓名", "李小红"}, {"班级", "一(1)班"}, {"通道", "1号通道"}, {"结果", "体温异常"},
		{"是否异常", "是"}, {"轮次", "晨检"}, {"身份", "学生"}, {"处理措施", "送复检区 R-001"}} {
		if got := col(rows[2], want[0]); got != want[1] {
			t.Errorf("%s = %q, want %q", want[0], got, want[1])
		}
	}
	out, err = exec.Command(bin, "export", "-config", cfg, "-from", "2026-11-23", "-table", "cases").Output()
	if err != nil {
		t.Fatalf("export -table cases: %v\n%s", err, out)
	}
	if rows := readCSV(t, out); len(rows) != 2 || !slices.Contains(rows[1], "待复检") || !slices.Contains(rows[1], "李小红") {
		t.Errorf("cases: %q", rows)
	}
	out, err = exec.Command(bin, "export", "-config", cfg, "-from", "2026-11-23", "-identity", "id").Output()
	if err != nil || strings.Contains(string(out), "李小红") || !strings.Contains(string(out), "S2") {
		t.Errorf("-identity id: %v\n%s", err, out)
	}
	xlsx := filepath.Join(t.TempDir(), "台账.xlsx")
	f := openXLSX(t, exec.Command(bin, "export", "-config", cfg, "-from", "2026-11-23", "-format", "xlsx", "-o", xlsx), xlsx)
	if name, _ := f.GetCellValue("晨午检登记表", "G3"); name != "李小红" {
		t.Errorf("xlsx: G3 = %q, want 李小红", name)
	}
	out, err = exec.Command(bin, "export", "-config", cfg, "-identity", "names").CombinedOutput()
	if code := exitCodeOf(t, err); code != exitUsage {
		t.Errorf("-identity names: exit %d, want %d:\n%s", code, exitUsage, out)
	}
}

// `gatescreen report -format text|html|xlsx` gives the report a principal
// signs (issue #21.3): lanes by their labels, the zero report saying 零报告.
func TestReportFormats(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cfg := officeGate(t, dir)
	out, err := exec.Command(bin, "report", "-config", cfg, "-date", "2026-11-23", "-format", "text").Output()
	if err != nil || !strings.Contains(string(out), "1号通道") || !strings.Contains(string(out), "待复检") || strings.Contains(string(out), "零报告") {
		t.Fatalf("text: %v\n%s", err, out)
	}
	html := filepath.Join(dir, "report.html")
	if out, err := exec.Command(bin, "report", "-config", cfg, "-date", "2026-11-24", "-format", "html", "-o", html).CombinedOutput(); err != nil {
		t.Fatalf("html: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "零报告") || !strings.Contains(string(b), "@page { size: A4") {
		t.Fatalf("html zero report:\n%s", b)
	}
	xlsx := filepath.Join(dir, "report.xlsx")
	f := openXLSX(t, exec.Command(bin, "report", "-config", cfg, "-date", "2026-11-24", "-format", "xlsx", "-o", xlsx), xlsx)
	if v, _ := f.GetCellValue("日报告", "A1"); v != "学校晨午检及因病缺勤日报告" {
		t.Errorf("xlsx A1 = %q", v)
	}
	out, err = exec.Command(bin, "report", "-config", cfg, "-date", "2026-11-23").Output()
	if err != nil || !strings.Contains(string(out), `"day": "2026-11-23"`) {
		t.Fatalf("json: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "report", "-config", cfg, "-format", "pdf").CombinedOutput()
	if code := exitCodeOf(t, err); code != exitUsage {
		t.Errorf("-format pdf: exit %d:\n%s", code, out)
	}
}
