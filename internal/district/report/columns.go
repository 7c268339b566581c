package report

import (
	"fmt"
	"strings"
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
// how its values are written.
type column struct {
	zh, en string
	kind   kind
}

// columns are the summary's, in the order of cells' values.
var columns = []column{
	{"日期", "date", date}, {"学校", "school", text},
	{"门岗数", "gates", count}, {"已报门岗", "gates reported", count},
	{"筛查人次", "screened", count}, {"发热", "flags", count}, {"复测", "retakes", count}, {"无效", "invalid", count},
	{"复测病例", "cases", count}, {"未结病例", "open cases", count},
	{"转疾控", "cdc_transfer", count}, {"家长带往发热门诊", "parent_fever_clinic", count},
	{"日报已收", "daily received", text}, {"收到时间", "received at", stamp},
	{"迟报", "late", text}, {"漏报", "missing", text},
}

// cells are a row's values, one per column (nil is an empty cell).
func (s *Summary) cells(r Row) []any {
	var received, missing any = nil, "未到截止" // not due: it cannot be told yet
	if !s.SchoolDay {
		missing = "非上课日" // none owed
	}
	if !r.ReceivedAt.IsZero() {
		received = r.ReceivedAt
	}
	if r.Due {
		missing = yesNo(r.Missing)
	}
	return []any{
		s.Date, r.School, r.Gates, r.Reported, r.Screened, r.Flags, r.Retakes, r.Invalid,
		r.Cases, r.OpenCases, r.CDCTransfer, r.FeverClinic,
		yesNo(r.Gates > 0 && r.Reported >= r.Gates), received, yesNo(r.Late), missing,
	}
}

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// The layouts of dates and times in CSV and in the workbook's cells.
const (
	dateLayout  = "2006-01-02"
	stampLayout = "2006-01-02 15:04:05"
)

// format writes a value of a column of kind k as CSV and the width
// estimate have it.
func format(k kind, v any) string {
	if v == nil {
		return ""
	}
	if t, ok := v.(time.Time); ok {
		if k == date {
			return t.Format(dateLayout)
		}
		return t.Format(stampLayout)
	}
	return fmt.Sprint(v)
}

// formulaLike tells text that Excel and WPS would run as a formula when
// they open a CSV (a school named "=HYPERLINK(…)" in a topic): CSV writes
// it after an apostrophe, which they show as text. A workbook's string
// cell is never run.
func formulaLike(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
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
