package schedule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	s, err := New(Opts{})
	if err != nil {
		t.Fatal(err)
	}
	cst := s.Loc
	mon := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, cst) } // a Monday
	if got := s.Day(time.Date(2026, 11, 22, 16, 30, 0, 0, time.UTC)); got != "2026-11-23" {
		t.Errorf("day of 16:30 UTC: %s, want the next day in Shanghai", got)
	}
	start, deadline, err := s.Bounds("2026-11-23")
	if err != nil || !start.Equal(mon(0, 0)) || !deadline.Equal(mon(20, 0)) {
		t.Errorf("bounds %v %v %v", start, deadline, err)
	}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{mon(6, 29), false}, {mon(6, 30), true}, {mon(17, 59), true}, {mon(18, 0), false},
		{time.Date(2026, 11, 28, 9, 0, 0, 0, cst), false}, // a Saturday
	} {
		if got := s.InSchoolHours(tc.at); got != tc.want {
			t.Errorf("in school hours at %v: %v", tc.at, got)
		}
	}
	if day, dl := s.LastDue(mon(19, 59)); day != "2026-11-22" || !dl.Equal(time.Date(2026, 11, 22, 20, 0, 0, 0, cst)) {
		t.Errorf("last due before the deadline: %s %v", day, dl)
	}
	if day, _ := s.LastDue(mon(20, 0)); day != "2026-11-23" {
		t.Errorf("last due at the deadline: %s", day)
	}
	if s.SchoolDay("2026-11-22") || !s.SchoolDay("2026-11-23") {
		t.Error("Sunday and Monday")
	}
}

func TestNewRefusesBadFlags(t *testing.T) {
	for _, o := range []Opts{
		{TimeZone: "Mars/Olympus"}, {Deadline: "25:00"}, {Deadline: "8pm"},
		{SchoolHours: "06:30"}, {SchoolHours: "18:00-06:30"}, {SchoolHours: "06:30-xx"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// A district's year is not Monday to Friday: on 国庆节 no report is owed,
// and on a 调休 Saturday one is.
func TestCalendarFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calendar.txt")
	cal := "# 2026 autumn term\n\n2026-10-01..2026-10-07 holiday 国庆节\n2026-10-10 school 调休上课\n  2026-11-23 holiday\n"
	if err := os.WriteFile(path, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(Opts{Calendar: path})
	if err != nil {
		t.Fatal(err)
	}
	for day, want := range map[string]bool{
		"2026-09-30": true,  // Wednesday before the holiday
		"2026-10-01": false, // Thursday, 国庆节
		"2026-10-07": false, // Wednesday, still the holiday
		"2026-10-08": true,  // Thursday after it
		"2026-10-10": true,  // Saturday made a school day
		"2026-10-11": false, // Sunday
		"2026-11-23": false, // a Monday the file closes
	} {
		if got := s.SchoolDay(day); got != want {
			t.Errorf("school day %s: %v, want %v", day, got, want)
		}
	}
	if s.InSchoolHours(time.Date(2026, 11, 23, 9, 0, 0, 0, s.Loc)) {
		t.Error("9:00 on a holiday counted as school hours")
	}
}

func TestCalendarFileMistakesNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calendar.txt")
	cal := "2026-10-01 holiday\n2026-13-01 holiday\n2026-10-01 school\n2026-10-09..2026-10-02 holiday\n2026-10-20 vacation\n2026-10-21\n2026-01-01..2027-12-31 holiday\n"
	if err := os.WriteFile(path, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Opts{Calendar: path})
	if err == nil {
		t.Fatal("a calendar with six bad lines accepted")
	}
	for _, want := range []string{
		path + `:2: "2026-13-01": want YYYY-MM-DD`,
		path + `:3: 2026-10-01 is already on line 1`,
		path + `:4: 2026-10-09..2026-10-02 ends before it starts`,
		path + `:5: "vacation": want holiday or school`,
		path + `:6: "2026-10-21": want DAY[..DAY] holiday|school [note]`,
		path + `:7: 2026-01-01..2027-12-31 is longer than 200 days`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := New(Opts{Calendar: filepath.Join(t.TempDir(), "none.txt")}); err == nil || !strings.Contains(err.Error(), "none.txt") {
		t.Errorf("a missing calendar file: %v", err)
	}
}

// Two overlapping ranges are one mistake, not one per day they share.
func TestCalendarOverlapIsOneErrorPerLinePair(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calendar.txt")
	cal := "2027-01-23..2027-02-21 holiday 寒假\n2027-02-01..2027-02-28 holiday 春节\n2027-02-07 school\n2026-10-01..2026-10-07 holiday\n2026-10-05..2027-01-25 holiday\n"
	if err := os.WriteFile(path, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Opts{Calendar: path})
	if err == nil {
		t.Fatal("overlapping ranges accepted")
	}
	want := []string{
		"calendar:",
		path + ":2: 2027-02-01..2027-02-21 are already on line 1",
		path + ":3: 2027-02-07 is already on line 1",
		path + ":3: 2027-02-07 is already on line 2",
		path + ":5: 2026-10-05..2026-10-07 are already on line 4",
		path + ":5: 2027-01-23..2027-01-25 are already on line 1",
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// A school may keep its own hours and deadline; the others keep the
// district's.
func TestCalendarFileSchoolHours(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calendar.txt")
	cal := "2026-11-24 holiday\nschool hd04 hours 07:30-17:00 deadline 19:00\nschool hd05 deadline 21:30\n"
	if err := os.WriteFile(path, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(Opts{Calendar: path})
	if err != nil {
		t.Fatal(err)
	}
	mon := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, s.Loc) }
	hd04, hd05, other := s.For("hd04"), s.For("hd05"), s.For("hd01")
	if _, dl, _ := hd04.Bounds("2026-11-23"); !dl.Equal(mon(19, 0)) {
		t.Errorf("hd04's deadline %v, want 19:00", dl)
	}
	if _, dl, _ := hd05.Bounds("2026-11-23"); !dl.Equal(mon(21, 30)) {
		t.Errorf("hd05's deadline %v, want 21:30", dl)
	}
	if _, dl, _ := other.Bounds("2026-11-23"); !dl.Equal(mon(20, 0)) {
		t.Errorf("hd01's deadline %v, want the district's 20:00", dl)
	}
	for _, tc := range []struct {
		s    Schedule
		at   time.Time
		want bool
	}{
		{hd04, mon(7, 0), false}, {hd04, mon(7, 30), true}, {hd04, mon(17, 0), false},
		{hd05, mon(7, 0), true}, {hd05, mon(17, 30), true}, // the district's hours
		{other, mon(6, 30), true}, {other, mon(18, 0), false},
		{hd04, time.Date(2026, 11, 24, 9, 0, 0, 0, s.Loc), false}, // the district's holiday
	} {
		if got := tc.s.InSchoolHours(tc.at); got != tc.want {
			t.Errorf("in school hours at %v (%v-%v): %v", tc.at, tc.s.SchoolStart, tc.s.SchoolEnd, got)
		}
	}
	if day, _ := hd04.LastDue(mon(19, 30)); day != "2026-11-23" {
		t.Errorf("hd04's last due at 19:30: %s, want today (its deadline 19:00)", day)
	}
	if day, _ := other.LastDue(mon(19, 30)); day != "2026-11-22" {
		t.Errorf("hd01's last due at 19:30: %s, want yesterday", day)
	}
}

func TestCalendarFileSchoolLineMistakesNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calendar.txt")
	cal := "school hd04 hours 07:30-17:00\nschool hd04 deadline 19:00\nschool hd05\nschool hd06 hours 17:00-07:30\nschool hd07 deadline 8pm\nschool hd08 lunch 12:00\nschool hd09 deadline\nschool hd10 deadline 19:00 deadline 18:00\n"
	if err := os.WriteFile(path, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Opts{Calendar: path})
	if err == nil {
		t.Fatal("a calendar with bad school lines accepted")
	}
	for _, want := range []string{
		path + `:2: school hd04 is already on line 1`,
		path + `:3: "school hd05": want school NAME [hours HH:MM-HH:MM] [deadline HH:MM]`,
		path + `:4: school hd06: hours: 17:00-07:30 ends before it starts`,
		path + `:5: school hd07: deadline: "8pm": want HH:MM`,
		path + `:6: school hd08: "lunch": want school NAME`,
		path + `:7: "school hd09 deadline": want school NAME`,
		path + `:8: school hd10: "deadline": want school NAME`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), ":1:") {
		t.Errorf("line 1 is good:\n%v", err)
	}
}
