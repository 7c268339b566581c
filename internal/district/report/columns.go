package report

import (
	"strconv"
	"time"
	"unicode"
)

// kind is how a column's values are written.
type kind int

const (
	text  kind = iota
	count      // a number
	date       // a day
	stamp      // a date and time
)

// column is one column of the summary: its headers, Chinese first, and
// its value in a row (nil is an empty cell).
type column struct {
	zh, en string
	kind   kind
	value  func(s *Summary, r Row) any
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// columns are the summary's, in order.
var columns = []column{
	{"日期", "date", date, func(s *Summary, _ Row) any { return s.Date }},
	{"学校", "school", text, func(_ *Summary, r Row) any { return r.School }},
	{"门岗数", "gates", count, func(_ *Summary, r Row) any { return r.Gates }},
	{"已报门岗", "gates reported", count, func(_ *Summary, r Row) any { return r.Reported }},
	{"筛查人次", "screened", count, func(_ *Summary, r Row) any { return r.Screened }},
	{"发热", "flags", count, func(_ *Summary, r Row) any { return r.Flags }},
	{"复测", "retakes", count, func(_ *Summary, r Row) any { return r.Retakes }},
	{"无效", "invalid", count, func(_ *Summary, r Row) any { return r.Invalid }},
	{"复测病例", "cases", count, func(_ *Summary, r Row) any { return r.Cases }},
	{"未结病例", "open cases", count, func(_ *Summary, r Row) any { return r.OpenCases }},
	{"转疾控", "cdc_transfer", count, func(_ *Summary, r Row) any { return r.CDCTransfer }},
	{"家长带往发热门诊", "parent_fever_clinic", count, func(_ *Summary, r Row) any { return r.FeverClinic }},
	{"日报已收", "daily received", text, func(_ *Summary, r Row) any { return yesNo(r.Gates > 0 && r.Reported >= r.Gates) }},
	{"收到时间", "received at", stamp, func(_ *Summary, r Row) any {
		if r.ReceivedAt.IsZero() {
			return nil
		}
		return r.ReceivedAt
	}},
	{"迟报", "late", text, func(_ *Summary, r Row) any { return yesNo(r.Late) }},
	{"漏报", "missing", text, func(_ *Summary, r Row) any {
		if !r.Due {
			return "未到截止"
		}
		return yesNo(r.Missing)
	}},
}

// The layouts of dates and times in CSV and in the workbook's cells.
const (
	dateLayout  = "2006-01-02"
	stampLayout = "2006-01-02 15:04:05"
)

// format writes a value of a column of kind k as CSV and the width
// estimate have it.
func format(k kind, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case time.Time:
		if k == date {
			return v.Format(dateLayout)
		}
		return v.Format(stampLayout)
	}
	panic("report: a column's value of an unknown type") // columns are this file's
}

// displayWidth counts a wide (CJK) character as two columns, the way a
// spreadsheet's default font draws it.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || (r >= 0xFF01 && r <= 0xFF60) {
			w += 2
		} else {
			w++
		}
	}
	return w
}
