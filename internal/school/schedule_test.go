package school

import (
	"testing"
	"time"
)

// gateCalendar is the configuration's default school section: three
// rounds, open Monday to Friday.
func gateCalendar() Calendar {
	return Calendar{
		Rounds: []Round{
			{Name: "morning", From: "06:00", To: "10:00"},
			{Name: "noon", From: "11:00", To: "14:30"},
			{Name: "evening", From: "16:00", To: "18:00"},
		},
		Days: []string{"mon", "tue", "wed", "thu", "fri"},
	}
}

func TestScheduleRoundsAndWindows(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	sch := gateCalendar()
	sch.Windows = []Window{{Grade: "7", From: "06:20", To: "06:40"}, {Grade: "1", From: "07:20", To: "07:40"}}
	sc, err := NewSchedule(sch, loc)
	if err != nil {
		t.Fatal(err)
	}
	at := func(hhmm string) time.Time {
		tm, _ := time.ParseInLocation("2006-01-02 15:04", "2026-11-23 "+hhmm, loc)
		return tm
	}
	cases := []struct {
		at, grade, round string
		late, closed     bool
	}{
		{"06:30", "7", "morning", false, false},
		{"06:40", "7", "morning", true, true},
		{"07:30", "1", "morning", false, false},
		{"07:41", "1", "morning", true, true},
		{"12:00", "1", "noon", false, true}, // noon checks are not late arrivals
		{"17:00", "7", "evening", false, true},
		{"22:00", "7", "", false, true},
		{"08:00", "9", "morning", false, false}, // no window for grade 9
	}
	for _, c := range cases {
		tm := at(c.at)
		if got := sc.Round(tm); got != c.round {
			t.Errorf("%s round %q, want %q", c.at, got, c.round)
		}
		if got := sc.Late(c.grade, tm); got != c.late {
			t.Errorf("%s grade %s late %v, want %v", c.at, c.grade, got, c.late)
		}
		if got := sc.WindowClosed(c.grade, tm); got != c.closed {
			t.Errorf("%s grade %s closed %v, want %v", c.at, c.grade, got, c.closed)
		}
	}
	// The same instant in UTC is judged in the school's zone.
	if got := sc.Round(at("06:30").UTC()); got != "morning" {
		t.Errorf("UTC instant round %q", got)
	}
}

func TestScheduleRejectsBackwardsRange(t *testing.T) {
	_, err := NewSchedule(Calendar{Rounds: []Round{{Name: "noon", From: "14:00", To: "11:00"}}}, time.UTC)
	if err == nil {
		t.Fatal("backwards round accepted")
	}
}

func TestCalibrate(t *testing.T) {
	// A device pointed at a 37.0 °C blackbody reads about 36.2.
	off, mean, spread, err := Calibrate(37.0, []float64{36.1, 36.2, 36.3, 36.2, 36.2})
	if err != nil {
		t.Fatal(err)
	}
	if off != 0.8 || mean != 36.2 || spread != 0.2 {
		t.Fatalf("offset %v mean %v spread %v", off, mean, spread)
	}
	if _, _, _, err := Calibrate(37, []float64{36, 36}); err == nil {
		t.Fatal("two samples accepted")
	}
}
