package office

import (
	"slices"

	"golang.org/x/text/width"
)

// Register names: the tables of the ledger.
const (
	TableReadings = "readings"
	TableCases    = "cases"
	TableAbsences = "absences"
	TableDaily    = "daily"
)

// cell kinds: how a value is written.
type kind uint8

const (
	kText  kind = iota
	kDate       // time.Time: the local day
	kClock      // time.Time: the local time of day
	kStamp      // time.Time: local date and time
	kTemp       // float64 °C, two decimals
	kInt        // int64
)

// column is one column of a register; docs/ledger.md explains each.
type column struct {
	zh, en string
	kind   kind
	// wide is the display width of the widest usual value (a CJK
	// character counts 2), so the .xlsx column fits it.
	wide int
}

// register is one table of the ledger: a CSV file or an .xlsx sheet.
type register struct {
	name   string
	zh, en string // sheet names
	cols   []column
}

func (r *register) title(v vocab) string { return v.text(r.zh, r.en) }

func (r *register) header(v vocab) []string {
	h := make([]string, len(r.cols))
	for i, c := range r.cols {
		h[i] = v.text(c.zh, c.en)
	}
	return h
}

// identityCols are the person columns every register shares.
var identityCols = []column{{"班级", "class", kText, 12}, {"姓名", "name", kText, 8}, {"编号", "person_id", kText, 12}}

var readingsRegister = register{TableReadings, "晨午检登记表", "readings", slices.Concat(
	[]column{
		{"日期", "date", kDate, 10}, {"时间", "time", kClock, 8}, {"轮次", "round", kText, 4},
		{"通道", "lane", kText, 10}, {"身份", "role", kText, 6},
	},
	identityCols,
	[]column{
		{"体温(°C)", "body_c", kTemp, 6}, {"是否异常", "abnormal", kText, 2}, {"结果", "verdict", kText, 8},
		{"原因", "reason", kText, 12}, {"处理措施", "action", kText, 14}, {"复检单号", "ticket", kText, 6},
		{"迟到", "late", kText, 2}, {"检查人", "checked_by", kText, 16}, {"原始读数(°C)", "raw_c", kTemp, 6},
		{"环境温度(°C)", "ambient_c", kTemp, 6}, {"提示", "warnings", kText, 12},
		{"时钟已同步", "clock_synced", kText, 2}, {"演练", "drill", kText, 2}, {"序号", "seq", kInt, 8},
	})}

var casesRegister = register{TableCases, "复检处置登记表", "cases", slices.Concat(
	[]column{
		{"日期", "date", kDate, 10}, {"复检单号", "ticket", kText, 6}, {"开单时间", "opened", kStamp, 19},
		{"通道", "lane", kText, 10}, {"身份", "role", kText, 6},
	},
	identityCols,
	[]column{
		{"初检体温(°C)", "flag_c", kTemp, 6}, {"复检体温(°C)", "recheck_c", kTemp, 6}, {"状态", "state", kText, 10},
		{"接触史", "contact_history", kText, 2}, {"处置", "disposition", kText, 16}, {"结果说明", "outcome", kText, 24},
		{"操作人", "actor", kText, 20}, {"更新时间", "updated", kStamp, 19}, {"演练", "drill", kText, 2},
	})}

var absencesRegister = register{TableAbsences, "缺勤登记表", "absences", slices.Concat(
	[]column{{"日期", "date", kDate, 10}, {"年级", "grade", kText, 6}},
	identityCols,
	[]column{{"缺勤原因", "reason", kText, 8}, {"症状", "symptoms", kText, 12}, {"已就诊", "seen_doctor", kText, 2},
		{"备注", "note", kText, 24}},
)}

var dailyRegister = register{TableDaily, "每日汇总", "daily", []column{
	{"日期", "date", kDate, 10}, {"检测人次", "screened", kInt, 6}, {"通过", "pass", kInt, 6},
	{"体温异常", "flag", kInt, 4}, {"需重测", "retake", kInt, 4}, {"读数无效", "invalid", kInt, 4},
	{"复检", "cases", kInt, 4}, {"复检正常", "cleared", kInt, 4}, {"缺勤", "absentees", kInt, 4},
	{"因病缺勤", "ill", kInt, 4}, {"访客", "visitors", kInt, 4}, {"演练", "drills", kInt, 4}, {"零报告", "zero", kText, 2},
	{"状态", "state", kText, 6},
}}

var registers = []*register{&readingsRegister, &casesRegister, &absencesRegister, &dailyRegister}

func registerNamed(name string) *register {
	for _, r := range registers {
		if r.name == name {
			return r
		}
	}
	return nil
}

// displayWidth counts a CJK (wide or full-width) character as 2, as a
// spreadsheet column shows it.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
