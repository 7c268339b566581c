package office

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/storage"
)

// memStore is a Store over events held in memory.
type memStore struct {
	events   []event.Event
	daily    map[string]event.Daily
	absences []storage.Absence
}

func (m *memStore) Scan(from, to time.Time, fn func(event.Event) error) error {
	for _, ev := range m.events {
		if w := time.Unix(0, ev.Wall); !w.Before(from) && w.Before(to) {
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) Daily(day string) (event.Daily, bool, error) {
	d, ok := m.daily[day]
	return d, ok, nil
}

func (m *memStore) Absences(day string) (map[string]storage.Absence, error) {
	out := map[string]storage.Absence{}
	for _, a := range m.absences {
		if a.Day == day {
			out[a.PersonID] = a
		}
	}
	return out, nil
}

func (m *memStore) add(t *testing.T, k event.Kind, payload any, at time.Time, drill bool) {
	t.Helper()
	ev, err := event.New(k, payload)
	if err != nil {
		t.Fatal(err)
	}
	ev.Seq, ev.Wall, ev.ClockSynced, ev.Drill = uint64(len(m.events)+1), at.UnixNano(), true, drill
	m.events = append(m.events, ev)
}

func ptr(v float64) *float64 { return &v }

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", "2026-11-23 "+hhmm, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

const rosterCSV = "学号,姓名,班级,年级,角色\n" +
	"S1,王小明,一(1)班,1,学生\n" +
	"S2,李小红,一(1)班,1,学生\n" +
	"S3,张伟,二(3)班,2,学生\n" +
	"T1,赵老师,,,教职工\n"

// testLedger is a school day: two readings of students, a flag that opened
// R-001 which the doctor confirmed and referred, a drill, a health event;
// S3 never came.
func testLedger(t *testing.T) *Ledger {
	t.Helper()
	ro, err := school.ParseRoster("roster.csv", []byte(rosterCSV))
	if err != nil {
		t.Fatal(err)
	}
	sched, err := school.NewSchedule(school.Calendar{Windows: []school.Window{
		{Grade: "1", From: "07:00", To: "07:40"}, {Grade: "2", From: "07:00", To: "07:40"}}}, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	m := &memStore{daily: map[string]event.Daily{}}
	m.add(t, event.KindReading, event.Reading{Lane: "lane-1", Role: "student", Device: "gun-1", BodyC: ptr(36.6),
		RawC: ptr(34.1), AmbientC: ptr(21), Verdict: event.VerdictPass, PersonID: "S1", Round: "morning"}, at("07:10"), false)
	m.add(t, event.KindReading, event.Reading{Lane: "lane-1", Role: "student", Device: "gun-1", BodyC: ptr(37.8),
		Verdict: event.VerdictFlag, Reason: "threshold", Warnings: []string{"ambient_low"}, PersonID: "S2",
		Round: "morning", Late: true, Ticket: "R-001"}, at("07:11"), false)
	opened := event.TimeOf(at("07:11"))
	c := event.Case{Ticket: "R-001", Day: "2026-11-23", Lane: "lane-1", Role: "student", State: event.CaseAwaitingRecheck,
		FlagC: ptr(37.8), Actor: "lane:lane-1", PersonID: "S2", OpenedAt: opened}
	m.add(t, event.KindCase, c, at("07:11"), false)
	contact := false
	c.From, c.State, c.RecheckC, c.Actor = c.State, event.CaseConfirmed, ptr(37.9), "doctor"
	m.add(t, event.KindCase, c, at("07:20"), false)
	c.From, c.State, c.ContactHistory, c.Disposition = c.State, event.CaseReferred, &contact, event.DispositionParentFeverClinic
	m.add(t, event.KindCase, c, at("07:25"), false)
	m.add(t, event.KindReading, event.Reading{Lane: "staff", Role: "staff", Device: "gun-2", BodyC: ptr(38.2),
		Verdict: event.VerdictFlag, Reason: "drill", Round: "morning", Ticket: "R-002"}, at("09:00"), true)
	m.add(t, event.KindReading, event.Reading{Lane: "staff", Role: "staff", Device: "gun-2",
		Verdict: event.VerdictRetake, Reason: "below_floor", PersonID: "T1", Round: "noon"}, at("12:00"), false)
	m.add(t, event.KindHealth, event.Health{Component: "device", Device: "gun-1", State: event.HealthUp}, at("06:00"), false)
	return &Ledger{Store: m, Sched: sched, Roster: ro, Labels: map[string]string{"lane-1": "1号通道"},
		PseudonymKey: []byte("0123456789abcdef"), Now: at("23:00")}
}

func exportCSV(t *testing.T, l *Ledger, q map[string]string) [][]string {
	t.Helper()
	r := Request{From: "2026-11-23", To: "2026-11-23"}
	vals := r.Query()
	for k, v := range q {
		vals.Set(k, v)
	}
	req, err := ParseRequest(vals)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.Write(&buf, req); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(utf8BOM)) {
		t.Fatalf("CSV without a UTF-8 BOM: %q", buf.String())
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), utf8BOM))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// cols maps a CSV's header to column indexes.
func cols(t *testing.T, header []string) func(row []string, name string) string {
	return func(row []string, name string) string {
		t.Helper()
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("no column %q in %q", name, header)
		}
		return row[i]
	}
}

// The register of readings (晨午检登记表) in zh-CN speaks Chinese in its
// values, names the student and the class, and holds readings only (issue
// #21.1): the case transitions are a register of their own.
func TestReadingsRegisterInChinese(t *testing.T) {
	rows := exportCSV(t, testLedger(t), nil)
	if len(rows) != 5 { // header + 4 readings; no case, no health event
		t.Fatalf("%d rows, want 5:\n%q", len(rows), rows)
	}
	want := []string{"日期", "时间", "轮次", "通道", "身份", "班级", "姓名", "编号", "体温(°C)", "是否异常", "结果", "原因", "处理措施"}
	if !slices.Contains(rows[0], "检查人") {
		t.Errorf("no 检查人 in %q", rows[0])
	}
	if !slices.Equal(rows[0][:len(want)], want) {
		t.Fatalf("header %q", rows[0])
	}
	for _, h := range rows[0] {
		if strings.ContainsAny(h, "abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("header cell %q is not Chinese", h)
		}
	}
	c := cols(t, rows[0])
	pass, flag, drill, retake := rows[1], rows[2], rows[3], rows[4]
	for name, want := range map[string]string{"日期": "2026-11-23", "时间": "07:10:00", "轮次": "晨检", "通道": "1号通道",
		"身份": "学生", "班级": "一(1)班", "姓名": "王小明", "编号": "S1", "体温(°C)": "36.60", "是否异常": "否", "结果": "通过",
		"处理措施": "", "迟到": "否", "检查人": "测温设备 gun-1", "原始读数(°C)": "34.10", "时钟已同步": "是", "演练": "否"} {
		if got := c(pass, name); got != want {
			t.Errorf("pass: %s = %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{"姓名": "李小红", "是否异常": "是", "结果": "体温异常", "原因": "超过阈值",
		"处理措施": "送复检区 R-001", "复检单号": "R-001", "迟到": "是", "提示": "环境温度过低", "原始读数(°C)": ""} {
		if got := c(flag, name); got != want {
			t.Errorf("flag: %s = %q, want %q", name, got, want)
		}
	}
	if c(drill, "演练") != "是" || c(drill, "通道") != "staff" || c(drill, "原因") != "演练" {
		t.Errorf("drill row %q", drill)
	}
	if c(retake, "是否异常") != "" || c(retake, "结果") != "需重测" || c(retake, "轮次") != "午检" || c(retake, "身份") != "教职工" || c(retake, "姓名") != "赵老师" || c(retake, "体温(°C)") != "" {
		t.Errorf("retake row %q", retake)
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			for _, code := range []string{"pass", "flag", "student", "true", "false", "morning", "threshold"} {
				if cell == code {
					t.Errorf("English value %q in row %q", cell, row)
				}
			}
		}
	}
}

// The cases register has one row per case in its latest state, with the
// doctor's re-check and the disposition in Chinese.
func TestCasesRegister(t *testing.T) {
	rows := exportCSV(t, testLedger(t), map[string]string{"table": TableCases})
	if len(rows) != 2 {
		t.Fatalf("%d rows, want header + R-001:\n%q", len(rows), rows)
	}
	c := cols(t, rows[0])
	for name, want := range map[string]string{"复检单号": "R-001", "开单时间": "2026-11-23 07:11:00", "通道": "1号通道",
		"姓名": "李小红", "班级": "一(1)班", "初检体温(°C)": "37.80", "复检体温(°C)": "37.90", "状态": "已转介",
		"接触史": "无", "处置": "家长陪同发热门诊", "操作人": "校医", "更新时间": "2026-11-23 07:25:00", "演练": "否"} {
		if got := c(rows[1], name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// Absences are the roster's students never measured; the summary counts
// the day.
func TestAbsencesAndDailyRegisters(t *testing.T) {
	l := testLedger(t)
	rows := exportCSV(t, l, map[string]string{"table": TableAbsences})
	if len(rows) != 2 {
		t.Fatalf("absences %q", rows)
	}
	c := cols(t, rows[0])
	if c(rows[1], "姓名") != "张伟" || c(rows[1], "班级") != "二(3)班" || c(rows[1], "年级") != "2" || c(rows[1], "缺勤原因") != "未登记" {
		t.Errorf("absence %q", rows[1])
	}
	l.Store.(*memStore).absences = []storage.Absence{{Day: "2026-11-23", PersonID: "S3", Reason: storage.AbsenceIllness,
		Symptoms: []string{storage.SymptomFever, storage.SymptomCough}, SeenDoctor: true, Note: "家长电话告知"}}
	rows = exportCSV(t, l, map[string]string{"table": TableAbsences})
	if c(rows[1], "缺勤原因") != "因病" || c(rows[1], "症状") != "发热、咳嗽" || c(rows[1], "已就诊") != "是" || c(rows[1], "备注") != "家长电话告知" {
		t.Errorf("recorded absence %q", rows[1])
	}
	// The teacher's note names people and illnesses: only where names go.
	for _, identity := range []string{IdentityID, IdentityPseudonym, IdentityNone} {
		rows := exportCSV(t, l, map[string]string{"table": TableAbsences, "identity": identity})
		if c := cols(t, rows[0]); c(rows[1], "备注") != "" {
			t.Errorf("-identity %s: the note %q is in the absences register", identity, c(rows[1], "备注"))
		}
	}
	rows = exportCSV(t, l, map[string]string{"table": TableDaily})
	if c := cols(t, rows[0]); c(rows[1], "因病缺勤") != "1" {
		t.Errorf("daily with an illness %q", rows)
	}
	rows = exportCSV(t, l, map[string]string{"table": TableDaily})
	c = cols(t, rows[0])
	if len(rows) != 2 || c(rows[1], "检测人次") != "3" || c(rows[1], "体温异常") != "1" || c(rows[1], "演练") != "1" ||
		c(rows[1], "缺勤") != "1" || c(rows[1], "零报告") != "否" || c(rows[1], "状态") != "统计中" || c(rows[1], "访客") != "" {
		t.Errorf("daily %q", rows)
	}
	// A sent report is what the summary shows, visitors included.
	l.Store.(*memStore).daily["2026-11-23"] = event.Daily{Day: "2026-11-23", Zero: true, Visitors: 4}
	rows = exportCSV(t, l, map[string]string{"table": TableDaily})
	if c(rows[1], "状态") != "已上报" || c(rows[1], "零报告") != "是" || c(rows[1], "访客") != "4" {
		t.Errorf("daily of a sent report %q", rows)
	}
}

// -identity chooses who a row names; the default is names, for the school.
func TestLedgerIdentity(t *testing.T) {
	l := testLedger(t)
	for _, tc := range []struct{ identity, class, name, id string }{
		{IdentityName, "一(1)班", "王小明", "S1"},
		{IdentityID, "一(1)班", "", "S1"},
		{IdentityPseudonym, "一(1)班", "", ""}, // the HMAC, checked below
		{IdentityNone, "", "", ""},
	} {
		rows := exportCSV(t, l, map[string]string{"identity": tc.identity})
		c := cols(t, rows[0])
		if c(rows[1], "班级") != tc.class || c(rows[1], "姓名") != tc.name || !strings.HasPrefix(c(rows[1], "编号"), tc.id) {
			t.Errorf("-identity %s: row %q", tc.identity, rows[1])
		}
		if tc.identity == IdentityPseudonym && (len(c(rows[1], "编号")) != 64 || strings.Contains(strings.Join(rows[1], ","), "S1")) {
			t.Errorf("-identity pseudonym: %q", rows[1])
		}
		for _, row := range rows {
			if tc.identity != IdentityName && strings.Contains(strings.Join(row, ","), "王小明") {
				t.Errorf("-identity %s shows a name: %q", tc.identity, row)
			}
		}
	}
}

// In English the values are the stored codes and the header English.
func TestLedgerInEnglish(t *testing.T) {
	rows := exportCSV(t, testLedger(t), map[string]string{"lang": LangEN})
	c := cols(t, rows[0])
	if c(rows[2], "verdict") != "flag" || c(rows[2], "round") != "morning" || c(rows[2], "abnormal") != "true" || c(rows[2], "lane") != "1号通道" {
		t.Errorf("English row %q", rows[2])
	}
}

func TestParseRequestRefusesUnknownValues(t *testing.T) {
	for _, q := range []map[string]string{{"format": "pdf"}, {"table": "all"}, {"identity": "names"}, {"lang": "fr"}} {
		vals := Request{From: "2026-11-23", To: "2026-11-23"}.Query()
		for k, v := range q {
			vals.Set(k, v)
		}
		if _, err := ParseRequest(vals); err == nil {
			t.Errorf("%v accepted", q)
		}
	}
}
