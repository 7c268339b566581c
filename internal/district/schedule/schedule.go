package schedule

import (
	"fmt"
	"strings"
	"time"
)

// DayFormat is a day as the contract writes it (a daily report's day).
const DayFormat = "2006-01-02"

// Schedule is the district's calendar. School days are Monday to Friday,
// except the holidays and plus the working weekend days of its calendar
// file. Its hours and deadline are the district's; For gives a school's,
// which the calendar file may set apart.
type Schedule struct {
	// Loc is the district's time zone.
	Loc *time.Location
	// Deadline is when a day's daily report is due, after local midnight.
	Deadline time.Duration
	// SchoolStart and SchoolEnd bound school hours on a school day, after
	// local midnight.
	SchoolStart, SchoolEnd time.Duration
	cal                    calendar
}

// Opts are a Schedule as its flags write it; zero fields take the defaults.
type Opts struct {
	TimeZone    string // default Asia/Shanghai
	Deadline    string // HH:MM, default 20:00
	SchoolHours string // HH:MM-HH:MM, default 06:30-18:00
	// Calendar is a file of holidays and working weekend days (see
	// readCalendar); none: Monday to Friday.
	Calendar string
}

// New parses opts.
func New(opts Opts) (Schedule, error) {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	var s Schedule
	var err error
	zone := def(opts.TimeZone, "Asia/Shanghai")
	if s.Loc, err = time.LoadLocation(zone); err != nil {
		return Schedule{}, fmt.Errorf("time zone %q: %w", zone, err)
	}
	if s.Deadline, err = clock(def(opts.Deadline, "20:00")); err != nil {
		return Schedule{}, fmt.Errorf("report deadline: %w", err)
	}
	if s.SchoolStart, s.SchoolEnd, err = parseHours(def(opts.SchoolHours, "06:30-18:00")); err != nil {
		return Schedule{}, fmt.Errorf("school hours: %w", err)
	}
	if opts.Calendar != "" {
		if s.cal, err = readCalendar(opts.Calendar); err != nil {
			return Schedule{}, err
		}
	}
	return s, nil
}

// parseHours parses HH:MM-HH:MM into its start and end after midnight.
func parseHours(hours string) (start, end time.Duration, err error) {
	from, to, ok := strings.Cut(hours, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want HH:MM-HH:MM", hours)
	}
	if start, err = clock(from); err == nil {
		end, err = clock(to)
	}
	if err == nil && end <= start {
		err = fmt.Errorf("%s ends before it starts", hours)
	}
	return start, end, err
}

// For is the schedule of school: the district's, with the school's own
// hours and deadline from the calendar file where it gives them. Days,
// holidays and the time zone are the district's.
func (s Schedule) For(school string) Schedule {
	o, ok := s.cal.schools[school]
	if !ok {
		return s
	}
	if o.hasHours {
		s.SchoolStart, s.SchoolEnd = o.start, o.end
	}
	if o.hasDeadline {
		s.Deadline = o.deadline
	}
	return s
}

// clock parses HH:MM into the time after midnight.
func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Day is the local day of t.
func (s Schedule) Day(t time.Time) string { return t.In(s.Loc).Format(DayFormat) }

// midnight is the start of day in the district's time zone.
func (s Schedule) midnight(day string) (time.Time, error) {
	t, err := time.ParseInLocation(DayFormat, day, s.Loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: want YYYY-MM-DD", day)
	}
	return t, nil
}

// at is the moment of local clock time d on day's date (time.Date keeps a
// clock time right across a change of offset).
func at(midnight time.Time, d time.Duration) time.Time {
	y, m, dd := midnight.Date()
	return time.Date(y, m, dd, int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, midnight.Location())
}

// Bounds returns the start of day and its daily report's deadline.
func (s Schedule) Bounds(day string) (start, deadline time.Time, err error) {
	start, err = s.midnight(day)
	return start, at(start, s.Deadline), err
}

// SchoolDay reports whether day is a school day: Monday to Friday and not
// a holiday, or a weekend day the calendar makes one.
func (s Schedule) SchoolDay(day string) bool {
	t, err := s.midnight(day)
	switch {
	case err != nil || s.cal.holiday[day]:
		return false
	case s.cal.school[day]:
		return true
	}
	return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
}

// InSchoolHours reports whether t falls inside school hours of a school day.
func (s Schedule) InSchoolHours(t time.Time) bool {
	day := s.Day(t)
	start, _ := s.midnight(day)
	return s.SchoolDay(day) && !t.Before(at(start, s.SchoolStart)) && t.Before(at(start, s.SchoolEnd))
}

// LastDue is the latest day whose deadline has passed at now: today from
// the deadline on, yesterday before it.
func (s Schedule) LastDue(now time.Time) (day string, deadline time.Time) {
	day = s.Day(now)
	start, deadline, _ := s.Bounds(day)
	if now.Before(deadline) {
		day = s.Day(start.Add(-time.Hour))
		_, deadline, _ = s.Bounds(day)
	}
	return day, deadline
}
