package school

import (
	"fmt"
	"slices"
	"time"
)

// clockRange is a local time-of-day range [from, to) in minutes.
type clockRange struct{ from, to int }

func (r clockRange) contains(min int) bool { return min >= r.from && min < r.to }

// Schedule answers, for a local time, which check round it belongs to and
// whether a grade has arrived late or its window has closed.
type Schedule struct {
	loc     *time.Location
	rounds  []namedRange
	windows map[string]clockRange
	// open are the weekdays the school is open; closed and makeup the dates
	// that say otherwise. All empty: open every day.
	open           [7]bool
	anyOpen        bool
	closed, makeup map[string]bool
}

type namedRange struct {
	name string
	clockRange
}

// WeekdayNames are the names of Calendar.Days, Sunday first as
// time.Weekday.
var WeekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Calendar is the school's week and day; the configuration's school
// section holds it. Times are local HH:MM.
type Calendar struct {
	// Rounds are the check rounds.
	Rounds []Round
	// Windows are the arrival windows per grade.
	Windows []Window
	// Days are the weekdays the school is open (WeekdayNames); none: every
	// day. Holidays are dates (YYYY-MM-DD) it is closed on such a day,
	// MakeupDays dates it is open on another (调休).
	Days       []string
	Holidays   []string
	MakeupDays []string
}

// Window is one grade's arrival window, local HH:MM.
type Window struct {
	Grade string `yaml:"grade"`
	From  string `yaml:"from"`
	To    string `yaml:"to"`
}

// Round is one check round, local HH:MM.
type Round struct {
	Name string `yaml:"name"`
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// NewSchedule builds the schedule of a calendar in loc. Errors name the
// configuration's keys (school.rounds[i]…), where a calendar comes from.
func NewSchedule(s Calendar, loc *time.Location) (*Schedule, error) {
	sc := &Schedule{loc: loc, windows: map[string]clockRange{}}
	for i, r := range s.Rounds {
		cr, err := parseRange(r.From, r.To)
		if err != nil {
			return nil, fmt.Errorf("school.rounds[%d]: %w", i, err)
		}
		sc.rounds = append(sc.rounds, namedRange{r.Name, cr})
	}
	for i, w := range s.Windows {
		cr, err := parseRange(w.From, w.To)
		if err != nil {
			return nil, fmt.Errorf("school.windows[%d]: %w", i, err)
		}
		sc.windows[w.Grade] = cr
	}
	for i, d := range s.Days {
		wd := slices.Index(WeekdayNames, d)
		if wd < 0 {
			return nil, fmt.Errorf("school.days[%d]: %q is not a weekday", i, d)
		}
		sc.open[wd], sc.anyOpen = true, true
	}
	sc.closed, sc.makeup = dateSet(s.Holidays), dateSet(s.MakeupDays)
	return sc, nil
}

func dateSet(dates []string) map[string]bool {
	m := make(map[string]bool, len(dates))
	for _, d := range dates {
		m[d] = true
	}
	return m
}

// Open reports whether the school is open on the local day (YYYY-MM-DD):
// one of school.days and no holiday, or a makeup day. A schedule without
// days is open every day.
func (sc *Schedule) Open(day string) bool {
	if sc.makeup[day] {
		return true
	}
	if sc.closed[day] {
		return false
	}
	t, err := time.ParseInLocation(time.DateOnly, day, sc.loc)
	if err != nil || !sc.anyOpen {
		return true
	}
	return sc.open[t.Weekday()]
}

func parseRange(from, to string) (clockRange, error) {
	f, err := parseClock(from)
	if err != nil {
		return clockRange{}, err
	}
	t, err := parseClock(to)
	if err != nil {
		return clockRange{}, err
	}
	if t <= f {
		return clockRange{}, fmt.Errorf("%s–%s: the end is not after the start", from, to)
	}
	return clockRange{f, t}, nil
}

// parseClock reads HH:MM as minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

func (sc *Schedule) minutes(t time.Time) int {
	lt := t.In(sc.loc)
	return lt.Hour()*60 + lt.Minute()
}

// Round returns the check round of a moment ("morning", "noon", "evening"),
// or "" outside every round.
func (sc *Schedule) Round(t time.Time) string {
	m := sc.minutes(t)
	for _, r := range sc.rounds {
		if r.contains(m) {
			return r.name
		}
	}
	return ""
}

// Late reports whether a person of grade measured at t arrived after the
// grade's window closed (only during the morning round: later rounds are
// not arrivals).
func (sc *Schedule) Late(grade string, t time.Time) bool {
	w, ok := sc.windows[grade]
	return ok && sc.Round(t) == "morning" && sc.minutes(t) >= w.to
}

// WindowClosed reports whether grade's arrival window has closed by t on
// t's local day.
func (sc *Schedule) WindowClosed(grade string, t time.Time) bool {
	w, ok := sc.windows[grade]
	return ok && sc.minutes(t) >= w.to
}

// Day returns the local date of t as YYYY-MM-DD.
func (sc *Schedule) Day(t time.Time) string { return t.In(sc.loc).Format(time.DateOnly) }

// Location is the school's time zone.
func (sc *Schedule) Location() *time.Location { return sc.loc }
