package schedule

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"
)

// calendar holds the days that break the Monday-to-Friday rule: holidays
// (国庆节, 春节, the winter and summer breaks) and the weekend days a school
// works instead (调休上课).
type calendar struct {
	holiday, school map[string]bool
	// schools are the schools whose hours or deadline are their own.
	schools map[string]own
}

// own is a school's own hours or deadline (a village school that starts
// later, a boarding school whose report is due earlier).
type own struct {
	hasHours, hasDeadline bool
	start, end, deadline  time.Duration
}

// maxRange bounds one line's range: a summer break is about 60 days; a
// typo in a year would otherwise make a map of thousands.
const maxRange = 200

// readCalendar reads the district's calendar file. Each line is a day or an
// inclusive range of days, what it is, and an optional note:
//
//	# 2026–27 school year
//	2026-10-01..2026-10-07 holiday 国庆节
//	2026-10-10 school 调休上课
//
// A line starting with "school" gives a school its own hours, deadline or
// both, instead of the district's:
//
//	school hd04 hours 07:30-17:00 deadline 19:00
//
// Blank lines and lines starting with # are ignored. Every bad line is
// reported as path:line: … and nothing of the file is used.
func readCalendar(path string) (calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return calendar{}, fmt.Errorf("calendar: %w", err)
	}
	defer f.Close()
	c := calendar{holiday: map[string]bool{}, school: map[string]bool{}, schools: map[string]own{}}
	schoolLine := map[string]int{} // school → the line that named it
	seen := map[string][]int{}     // day → the lines that named it
	var bad []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if fields[0] == "school" {
			o, err := ownLine(fields[1:])
			switch first, dup := schoolLine[fieldOr(fields, 1)]; {
			case err != nil:
				bad = append(bad, fmt.Sprintf("%s:%d: %v", path, n, err))
			case dup:
				bad = append(bad, fmt.Sprintf("%s:%d: school %s is already on line %d", path, n, fields[1], first))
			default:
				schoolLine[fields[1]] = n
				c.schools[fields[1]] = o
			}
			continue
		}
		if len(fields) < 2 {
			bad = append(bad, fmt.Sprintf("%s:%d: %q: want DAY[..DAY] holiday|school [note]", path, n, line))
			continue
		}
		days, err := dayRange(fields[0])
		if err == nil && fields[1] != "holiday" && fields[1] != "school" {
			err = fmt.Errorf("%q: want holiday or school", fields[1])
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s:%d: %v", path, n, err))
			continue
		}
		// One error per earlier line overlapped, naming the days they
		// share (two ranges share one run of days), not one per day.
		var overlaps []int
		shared := map[int][]string{}
		for _, d := range days {
			earlier := seen[d]
			seen[d] = append(earlier, n)
			for _, first := range earlier {
				if shared[first] == nil {
					overlaps = append(overlaps, first)
				}
				shared[first] = append(shared[first], d)
			}
			if len(earlier) > 0 {
				continue
			}
			if fields[1] == "holiday" {
				c.holiday[d] = true
			} else {
				c.school[d] = true
			}
		}
		for _, first := range overlaps {
			ds := shared[first]
			what := ds[0] + " is"
			if len(ds) > 1 {
				what = ds[0] + ".." + ds[len(ds)-1] + " are"
			}
			bad = append(bad, fmt.Sprintf("%s:%d: %s already on line %d", path, n, what, first))
		}
	}
	if err := sc.Err(); err != nil {
		return calendar{}, fmt.Errorf("calendar %s: %w", path, err)
	}
	if len(bad) > 0 {
		return calendar{}, fmt.Errorf("calendar:\n%s", strings.Join(bad, "\n"))
	}
	return c, nil
}

func fieldOr(fields []string, i int) string {
	if i < len(fields) {
		return fields[i]
	}
	return ""
}

// ownLine parses what follows "school": NAME, then hours HH:MM-HH:MM,
// deadline HH:MM or both.
func ownLine(f []string) (own, error) {
	const want = "want school NAME [hours HH:MM-HH:MM] [deadline HH:MM]"
	if len(f) < 3 || len(f)%2 != 1 {
		return own{}, fmt.Errorf("%q: %s", strings.Join(append([]string{"school"}, f...), " "), want)
	}
	var o own
	var err error
	for i := 1; i < len(f); i += 2 {
		switch key, v := f[i], f[i+1]; {
		case key == "hours" && !o.hasHours:
			o.hasHours = true
			if o.start, o.end, err = parseHours(v); err != nil {
				return own{}, fmt.Errorf("school %s: hours: %w", f[0], err)
			}
		case key == "deadline" && !o.hasDeadline:
			o.hasDeadline = true
			if o.deadline, err = clock(v); err != nil {
				return own{}, fmt.Errorf("school %s: deadline: %w", f[0], err)
			}
		default:
			return own{}, fmt.Errorf("school %s: %q: %s", f[0], key, want)
		}
	}
	return o, nil
}

// dayRange parses DAY or FROM..TO into its days.
func dayRange(s string) ([]string, error) {
	from, to, isRange := strings.Cut(s, "..")
	if !isRange {
		to = from
	}
	a, err := time.Parse(DayFormat, from)
	if err != nil {
		return nil, fmt.Errorf("%q: want YYYY-MM-DD", from)
	}
	b, err := time.Parse(DayFormat, to)
	if err != nil {
		return nil, fmt.Errorf("%q: want YYYY-MM-DD", to)
	}
	if b.Before(a) {
		return nil, fmt.Errorf("%s ends before it starts", s)
	}
	if b.Sub(a) > maxRange*24*time.Hour {
		return nil, fmt.Errorf("%s is longer than %d days", s, maxRange)
	}
	var days []string
	for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format(DayFormat))
	}
	return days, nil
}
