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
// Blank lines and lines starting with # are ignored. Every bad line is
// reported as path:line: … and nothing of the file is used.
func readCalendar(path string) (calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return calendar{}, fmt.Errorf("calendar: %w", err)
	}
	defer f.Close()
	c := calendar{holiday: map[string]bool{}, school: map[string]bool{}}
	seen := map[string][]int{} // day → the lines that named it
	var bad []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
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
