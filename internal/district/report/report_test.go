package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

var sched, _ = schedule.New(schedule.Opts{})

func local(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, sched.Loc) }

func site(school, gate string) store.Site {
	return store.Site{District: "hd", School: school, Gate: gate}
}

func caseEvent(box string, seq int64, day, ticket, state, disposition string, drill bool) store.Event {
	body := fmt.Sprintf(`{"id":"%s:%d","seq":%d,"kind":"case","ticket":%q,"day":%q,"state":%q`, box, seq, seq, ticket, day, state)
	if disposition != "" {
		body += fmt.Sprintf(`,"disposition":%q`, disposition)
	}
	return store.Event{ID: fmt.Sprintf("%s:%d", box, seq), Seq: seq, Kind: "case", CapturedAt: "2026-11-23T01:00:00.000Z",
		Drill: drill, Body: []byte(body + "}")}
}

// district is two schools: a, whose west gate reported late, with cases;
// b, whose one gate never reported.
func district(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "district.db"), store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	daily := func(box string, at store.Site, c store.Counts, received time.Time) store.Message {
		return store.Message{Topic: "t", Site: at, Box: box, ReceivedAt: received,
			Daily: &store.Daily{Day: "2026-11-23", ID: box + ":50", Seq: 50, Zero: c.Total == 0, Totals: c, Body: []byte(`{}`)}}
	}
	msgs := []store.Message{
		{Topic: "t", Site: site("b", "gate"), Box: "b-gate", ReceivedAt: local(6, 0), Status: &store.Status{State: "online"}},
		{Topic: "t", Site: site("a", "east"), Box: "a-east", ReceivedAt: local(7, 0), Events: []store.Event{
			caseEvent("a-east", 1, "2026-11-23", "R-1", "confirmed", "", false),
			caseEvent("a-east", 2, "2026-11-23", "R-1", "referred", "cdc_transfer", false),
			caseEvent("a-east", 3, "2026-11-23", "R-2", "cleared", "", false),
			caseEvent("a-east", 4, "2026-11-23", "R-3", "confirmed", "", true), // a drill
			caseEvent("a-east", 5, "2026-11-23", "R-4", "referred", "parent_fever_clinic", false),
			caseEvent("a-east", 6, "2026-11-23", "R-4", "closed", "", false),
			caseEvent("a-east", 7, "2026-11-22", "R-9", "confirmed", "", false), // the day before
		}},
		daily("a-east", site("a", "east"), store.Counts{Total: 1710, Pass: 1702, Flag: 2, Retake: 5, Invalid: 1}, local(19, 0)),
		daily("a-west", site("a", "west"), store.Counts{}, local(20, 30)), // a zero report, late
	}
	for _, m := range msgs {
		if _, err := s.Write(context.Background(), &store.Batch{Messages: []store.Message{m}}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestBuild(t *testing.T) {
	s := district(t)
	sum, err := Build(context.Background(), s, sched, "2026-11-23", local(21, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{School: "a", Gates: 2, Reported: 2, Screened: 1710, Flags: 2, Retakes: 5, Invalid: 1, Cases: 3, OpenCases: 1,
			CDCTransfer: 1, FeverClinic: 1, ReceivedAt: local(20, 30), Late: true, Due: true, Deadline: local(20, 0)},
		{School: "b", Gates: 1, Missing: true, Due: true, Deadline: local(20, 0)},
	}
	if len(sum.Rows) != 2 {
		t.Fatalf("rows %+v", sum.Rows)
	}
	for i, w := range want {
		g := sum.Rows[i]
		if !g.ReceivedAt.Equal(w.ReceivedAt) {
			t.Errorf("%s received at %v, want %v", g.School, g.ReceivedAt, w.ReceivedAt)
		}
		if !g.Deadline.Equal(w.Deadline) {
			t.Errorf("%s's deadline %v, want %v", g.School, g.Deadline, w.Deadline)
		}
		g.ReceivedAt, g.Deadline = w.ReceivedAt, w.Deadline
		if g != w {
			t.Errorf("row %+v\nwant %+v", g, w)
		}
	}
	early, err := Build(context.Background(), s, sched, "2026-11-23", local(19, 30))
	if err != nil || early.Rows[1].Missing || early.Rows[1].Due {
		t.Errorf("before the deadline: %+v, %v", early.Rows, err)
	}
	if _, err := Build(context.Background(), s, sched, "23.11.2026", local(21, 0)); err == nil {
		t.Error("a bad day accepted")
	}
}

func TestXLSX(t *testing.T) {
	sum, err := Build(context.Background(), district(t), sched, "2026-11-23", local(21, 0))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sum.WriteXLSX(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 1 || got[0] != SheetName {
		t.Fatalf("sheets %q", got)
	}
	cell := func(ref string) string {
		t.Helper()
		v, err := f.GetCellValue(SheetName, ref)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for ref, want := range map[string]string{
		"A1": "日期", "A2": "date", "B1": "学校", "E2": "screened", "L1": "家长带往发热门诊", "P1": "漏报", "P2": "missing",
		"A3": "2026-11-23", "B3": "a", "E3": "1710", "F3": "2", "I3": "3", "J3": "1", "K3": "1", "L3": "1",
		"M3": "是", "N3": "2026-11-23 20:30:00", "O3": "是", "P3": "否",
		"B4": "b", "C4": "1", "D4": "0", "M4": "否", "N4": "", "O4": "否", "P4": "是",
	} {
		if got := cell(ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
	// Dates and counts are numbers, not text.
	for _, ref := range []string{"A3", "N3", "E3"} {
		if typ, _ := f.GetCellType(SheetName, ref); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
			t.Errorf("%s is text", ref)
		}
	}
	if raw, _ := f.GetCellValue(SheetName, "A3", excelize.Options{RawCellValue: true}); raw != "46349" {
		t.Errorf("A3's serial %q, want 46349 (2026-11-23)", raw)
	}
	panes, err := f.GetPanes(SheetName)
	if err != nil || !panes.Freeze || panes.YSplit != 2 {
		t.Errorf("panes %+v, %v: want the two header rows frozen", panes, err)
	}
	if w, _ := f.GetColWidth(SheetName, "L"); w < float64(displayWidth("家长带往发热门诊")) {
		t.Errorf("column L is %.1f wide, narrower than its Chinese header", w)
	}
}

func TestCSV(t *testing.T) {
	sum, err := Build(context.Background(), district(t), sched, "2026-11-23", local(21, 0))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sum.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatalf("no UTF-8 BOM: %q", buf.Bytes()[:8])
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), utf8BOM))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"日期 date", "学校 school", "门岗数 gates", "已报门岗 gates reported", "筛查人次 screened", "发热 flags", "复测 retakes",
			"无效 invalid", "复测病例 cases", "未结病例 open cases", "转疾控 cdc_transfer", "家长带往发热门诊 parent_fever_clinic",
			"日报已收 daily received", "收到时间 received at", "迟报 late", "漏报 missing"},
		{"2026-11-23", "a", "2", "2", "1710", "2", "5", "1", "3", "1", "1", "1", "是", "2026-11-23 20:30:00", "是", "否"},
		{"2026-11-23", "b", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "否", "", "否", "是"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("CSV\n%q\nwant\n%q", rows, want)
	}
}

// A school named like a formula (its topic level is the box's to choose)
// is text in the CSV, never run by the spreadsheet that opens it.
func TestCSVNeutralisesFormulas(t *testing.T) {
	sum := &Summary{Day: "2026-11-23", Rows: []Row{{School: "=HYPERLINK(\"x\")"}}}
	var buf bytes.Buffer
	if err := sum.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"'=HYPERLINK(""x"")"`) {
		t.Errorf("CSV %s", buf.String())
	}
}

// On a day the calendar closes the schools no report is owed: school b,
// which sent none, is no 漏报 (as the alert service has it), and the
// column says why.
func TestNoReportOwedOnAHoliday(t *testing.T) {
	cal := filepath.Join(t.TempDir(), "calendar.txt")
	if err := os.WriteFile(cal, []byte("2026-11-23 holiday 校庆\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	holiday, err := schedule.New(schedule.Opts{Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Build(context.Background(), district(t), holiday, "2026-11-23", local(21, 0))
	if err != nil {
		t.Fatal(err)
	}
	b := sum.Rows[1]
	if b.School != "b" || b.Missing || b.Due || sum.SchoolDay {
		t.Fatalf("school b on a holiday: %+v (school day %v), want nothing owed", b, sum.SchoolDay)
	}
	if cells := sum.cells(b); cells[len(cells)-1] != "非上课日" {
		t.Errorf("漏报 column %v, want 非上课日", cells[len(cells)-1])
	}
}

// A school's own deadline (the calendar file's school line) decides its
// 迟报 and 漏报, as it does its alert: a's is 21:00, so its west gate's
// 20:30 report is in time; b's is 19:00, so b is 漏报 at 19:30 already.
func TestPerSchoolDeadline(t *testing.T) {
	cal := filepath.Join(t.TempDir(), "calendar.txt")
	if err := os.WriteFile(cal, []byte("school a deadline 21:00\nschool b deadline 19:00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	own, err := schedule.New(schedule.Opts{Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	s := district(t)
	sum, err := Build(context.Background(), s, own, "2026-11-23", local(21, 30))
	if err != nil {
		t.Fatal(err)
	}
	if a := sum.Rows[0]; a.School != "a" || a.Late || !a.Deadline.Equal(local(21, 0)) {
		t.Errorf("a %+v: want in time by its 21:00", a)
	}
	early, err := Build(context.Background(), s, own, "2026-11-23", local(19, 30))
	if err != nil {
		t.Fatal(err)
	}
	if b := early.Rows[1]; b.School != "b" || !b.Missing || !b.Due {
		t.Errorf("b at 19:30 %+v: want 漏报 by its 19:00", b)
	}
	if a := early.Rows[0]; a.Due || a.Missing {
		t.Errorf("a at 19:30 %+v: want nothing due yet", a)
	}
}
