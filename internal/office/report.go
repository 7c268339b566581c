package office

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatescreen/gatescreen/event"
)

// Report formats of `gatescreen report` besides its JSON.
const (
	ReportText = "text"
	ReportHTML = "html"
	ReportXLSX = "xlsx"
)

// Report is the daily report as the principal signs it.
type Report struct {
	Daily event.Daily
	// School and Gate name the box (site.school, site.gate).
	School, Gate string
	// Made is when this copy was made, on the school's clock.
	Made time.Time
	Lang string
}

// WriteReport writes r as text, html (one A4 page when printed) or xlsx.
func WriteReport(w io.Writer, format string, r Report) error {
	v, err := newVocab(r.Lang)
	if err != nil {
		return err
	}
	s := r.sheet(v)
	switch format {
	case ReportText:
		return s.text(w)
	case ReportHTML:
		return s.html(w)
	case ReportXLSX:
		return s.xlsx(w)
	}
	return fmt.Errorf("-format %q: want json, text, html or xlsx", format)
}

// reportSheet is the report laid out once, whatever it is written as.
type reportSheet struct {
	v        vocab
	Title    string
	Facts    [][2]string // label, value: the head of the report
	Zero     string      // the 零报告 statement, or empty
	Late     string
	Sections []section
	Sign     []string // signature lines
	date     time.Time
}

// section is one table of the report; wide sections fill the page's width.
type section struct {
	Title string
	Head  []string
	Rows  [][]string
	Wide  bool
	Note  string
}

func (r *Report) sheet(v vocab) *reportSheet {
	d := &r.Daily
	day, _ := time.ParseInLocation(time.DateOnly, d.Day, time.UTC)
	s := &reportSheet{v: v, date: day,
		Title: v.text("学校晨午检及因病缺勤日报告", "School daily screening report")}
	s.Facts = [][2]string{
		{v.text("日期", "Date"), d.Day},
		{v.text("学校", "School"), r.School},
		{v.text("校门", "Gate"), r.Gate},
		{v.text("制表时间", "Made"), r.Made.Format("2006-01-02 15:04")},
	}
	if d.Zero {
		s.Zero = v.text("零报告：今日无体温异常、无复检病例。", "Zero report: no fever flagged and no re-check case today.")
	}
	if d.Late {
		s.Late = v.text("本报告补报（设备离线期间未按时发送）。", "Sent late: the box was off at the report time.")
	}
	head := []string{"", v.text("检测人次", "screened"), v.text("通过", "pass"), v.text("体温异常", "flag"),
		v.text("需重测", "retake"), v.text("读数无效", "invalid")}
	total := section{Title: v.text("检测总数", "Totals"), Head: head, Wide: true,
		Rows: [][]string{counts(v.text("合计", "all"), d.Totals)}}
	s.Sections = append(s.Sections, total)
	by := func(title, first string, m map[string]event.Counts, name func(string) string, order []string) {
		sec := section{Title: title, Head: append([]string{first}, head[1:]...)}
		for _, k := range sortedKeys(m, order) {
			sec.Rows = append(sec.Rows, counts(name(k), m[k]))
		}
		if len(sec.Rows) == 0 {
			sec.Note = v.text("无", "none")
		}
		s.Sections = append(s.Sections, sec)
	}
	by(v.text("按年级", "By grade"), v.text("年级", "grade"), d.ByGrade, func(g string) string { return g }, gradeOrder(d.ByGrade))
	by(v.text("按通道", "By lane"), v.text("通道", "lane"), d.ByLane, func(l string) string { return label(d.LaneLabels, l) }, nil)
	by(v.text("按轮次", "By round"), v.text("轮次", "round"), d.ByRound, v.code, []string{"morning", "noon", "evening"})
	by(v.text("按身份", "By role"), v.text("身份", "role"), d.ByRole, v.code, []string{"student", "staff", "visitor", "canteen"})

	s.Sections = append(s.Sections, casesSection(v, d), absencesSection(v, d), devicesSection(v, d))
	s.Sections = append(s.Sections, section{Title: v.text("应急演练（不计入以上统计）", "Drills (not counted above)"), Head: head,
		Rows: [][]string{counts(v.text("演练", "drills"), d.Drills)}})

	s.Sign = []string{v.text("带班校长（签字）", "Principal on duty (signature)"), v.text("校医（签字）", "School doctor (signature)"),
		v.text("报送日期", "Date sent")}
	return s
}

// casesSection follows the day's flags through re-check to disposition.
func casesSection(v vocab, d *event.Daily) section {
	cases := section{Title: v.text("体温异常处置", "Flags, re-checks, dispositions"), Head: []string{v.text("环节", "step"), v.text("人数", "people")}}
	n := 0
	for _, c := range d.Cases {
		n += c
	}
	cases.Rows = append(cases.Rows, []string{v.text("体温异常（初检）", "flagged at the gate"), strconv.Itoa(d.Totals.Flag)},
		[]string{v.text("送复检", "sent to re-check"), strconv.Itoa(n)})
	for _, st := range sortedKeys(d.Cases, []string{event.CaseAwaitingRecheck, event.CaseCleared, event.CaseConfirmed, event.CaseReferred, event.CaseClosed}) {
		cases.Rows = append(cases.Rows, []string{"　" + v.code(st), strconv.Itoa(d.Cases[st])})
	}
	for _, disp := range sortedKeys(d.Disposition, []string{event.DispositionCDCTransfer, event.DispositionParentFeverClinic}) {
		cases.Rows = append(cases.Rows, []string{v.text("处置：", "disposition: ") + v.code(disp), strconv.Itoa(d.Disposition[disp])})
	}
	return cases
}

// absencesSection counts the absentees by reason, grade and symptom, and the
// visitors.
func absencesSection(v vocab, d *event.Daily) section {
	abs := section{Title: v.text("缺勤与访客", "Absences and visitors"),
		Head: []string{v.text("项目", "item"), v.text("人数", "people")},
		Rows: [][]string{{v.text("缺勤学生（对照名册）", "students absent (against the roster)"), strconv.Itoa(d.Absentees)}}}
	for _, reason := range sortedKeys(d.AbsenceReasons, []string{"illness", "personal_leave", "unknown", "unrecorded"}) {
		abs.Rows = append(abs.Rows, []string{"　" + v.code(reason), strconv.Itoa(d.AbsenceReasons[reason])})
	}
	for _, g := range sortedKeys(d.IllByGrade, gradeOrder(d.IllByGrade)) {
		abs.Rows = append(abs.Rows, []string{v.text("因病缺勤　年级 ", "ill, grade ") + g, strconv.Itoa(d.IllByGrade[g])})
	}
	for _, sym := range sortedKeys(d.IllSymptoms, []string{"fever", "cough", "other", "seen_doctor"}) {
		name := v.text("症状：", "symptom: ") + v.code(sym)
		if sym == "seen_doctor" {
			name = v.text("已就诊", "seen by a doctor")
		}
		abs.Rows = append(abs.Rows, []string{name, strconv.Itoa(d.IllSymptoms[sym])})
	}
	abs.Rows = append(abs.Rows, []string{v.text("访客登记", "visitors registered"), strconv.Itoa(d.Visitors)})
	return abs
}

// devicesSection gives each device's uptime and faults.
func devicesSection(v vocab, d *event.Daily) section {
	dev := section{Title: v.text("设备运行", "Devices"), Head: []string{v.text("设备", "device"), v.text("在线率", "up"), v.text("故障次数", "faults")}}
	for _, name := range sortedKeys(d.DeviceUptime, nil) {
		dev.Rows = append(dev.Rows, []string{name, strconv.FormatFloat(100*d.DeviceUptime[name], 'f', 1, 64) + "%", strconv.Itoa(d.DeviceFaults[name])})
	}
	if len(dev.Rows) == 0 {
		dev.Note = v.text("全天无设备故障记录", "no device fault recorded")
	}
	return dev
}

// gradeOrder sorts grades as a school does: primary (1…6, 一年级…), then
// 初一…初三, then 高一…高三; other names after them, as strings.
func gradeOrder[V any](m map[string]V) []string {
	type key struct{ stage, n int }
	keyOf := func(g string) key {
		stage := 0
		switch {
		case strings.HasPrefix(g, "初"):
			stage, g = 1, strings.TrimPrefix(g, "初")
		case strings.HasPrefix(g, "高"):
			stage, g = 2, strings.TrimPrefix(g, "高")
		}
		g = strings.TrimSuffix(g, "年级")
		if n, err := strconv.Atoi(g); err == nil {
			return key{stage, n}
		}
		if n := strings.Index("一二三四五六七八九", g); n >= 0 && utf8.RuneCountInString(g) == 1 {
			return key{stage, n/3 + 1}
		}
		return key{3, 0}
	}
	grades := slices.Collect(maps.Keys(m))
	slices.SortFunc(grades, func(a, b string) int {
		ka, kb := keyOf(a), keyOf(b)
		return cmp.Or(cmp.Compare(ka.stage, kb.stage), cmp.Compare(ka.n, kb.n), cmp.Compare(a, b))
	})
	return grades
}

func counts(name string, c event.Counts) []string {
	return []string{name, strconv.Itoa(c.Total), strconv.Itoa(c.Pass), strconv.Itoa(c.Flag), strconv.Itoa(c.Retake), strconv.Itoa(c.Invalid)}
}

// sortedKeys returns the keys of m: those in order first, in that order,
// then the rest sorted.
func sortedKeys[V any](m map[string]V, order []string) []string {
	keys := slices.Collect(maps.Keys(m))
	rank := func(k string) int {
		if i := slices.Index(order, k); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	return keys
}
