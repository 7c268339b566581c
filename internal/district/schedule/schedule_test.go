package schedule

import (
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
