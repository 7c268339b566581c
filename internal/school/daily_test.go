package school

import (
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

func testSchool(t *testing.T) (*Roster, *Schedule, Day) {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	sch := gateCalendar()
	sch.Windows = []Window{{Grade: "1", From: "07:20", To: "07:40"}, {Grade: "7", From: "06:20", To: "06:40"}}
	sc, err := NewSchedule(sch, loc)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := ParseRoster("r.csv", []byte("id,name,class,grade,role,card_uid\n"+
		"S1,Ann,1A,1,student,A1\nS2,Bob,1A,1,student,A2\nS3,Cat,7B,7,student,A3\nT1,Tom,,,staff,B1\n"))
	if err != nil {
		t.Fatal(err)
	}
	day, err := sc.ParseDay("2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	return ro, sc, day
}

func reading(t *testing.T, seq uint64, at time.Time, r event.Reading, drill bool) event.Event {
	t.Helper()
	ev, err := event.New(event.KindReading, r)
	if err != nil {
		t.Fatal(err)
	}
	ev.Seq, ev.Wall, ev.Drill = seq, at.UnixNano(), drill
	return ev
}

func TestZeroReportDay(t *testing.T) {
	ro, sc, day := testSchool(t)
	tally := NewTally(day, ro, sc)
	r := tally.Report(day.End)
	if !r.Zero || r.Totals.Total != 0 || r.Day != "2026-11-23" {
		t.Fatalf("empty day: %+v", r)
	}
	// Nobody came: every student is absent once the windows closed.
	if r.Absentees != 3 {
		t.Fatalf("absentees %d, want 3", r.Absentees)
	}
}

func TestTallyCountsAndKeepsDrillsApart(t *testing.T) {
	ro, sc, day := testSchool(t)
	tally := NewTally(day, ro, sc)
	at := day.Start.Add(7*time.Hour + 25*time.Minute)
	evs := []event.Event{
		reading(t, 1, at, event.Reading{Lane: "L1", Role: "student", Verdict: "pass", PersonID: "S1"}, false),
		reading(t, 2, at, event.Reading{Lane: "L1", Role: "student", Verdict: "flag", PersonID: "S3"}, false),
		reading(t, 3, at, event.Reading{Lane: "L2", Role: "staff", Verdict: "retake"}, false),
		reading(t, 4, at, event.Reading{Lane: "L1", Role: "student", Verdict: "flag"}, true), // drill
	}
	c, _ := event.New(event.KindCase, event.Case{Ticket: "R-001", Day: day.Date, Lane: "L1", State: event.CaseAwaitingRecheck})
	c2, _ := event.New(event.KindCase, event.Case{Ticket: "R-001", Day: day.Date, Lane: "L1", State: event.CaseReferred, Disposition: event.DispositionParentFeverClinic})
	evs = append(evs, c, c2)
	for _, ev := range evs {
		if err := tally.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	r := tally.Report(day.End)
	if r.Zero {
		t.Fatal("a day with a flag is not a zero report")
	}
	if r.Totals.Total != 3 || r.Totals.Flag != 1 || r.Totals.Pass != 1 || r.Totals.Retake != 1 {
		t.Fatalf("totals %+v", r.Totals)
	}
	if r.Drills.Total != 1 || r.Drills.Flag != 1 {
		t.Fatalf("drills %+v", r.Drills)
	}
	if r.ByLane["L1"].Total != 2 || r.ByRole["staff"].Retake != 1 || r.ByGrade["7"].Flag != 1 || r.ByRound["morning"].Total != 3 {
		t.Fatalf("breakdown %+v %+v %+v %+v", r.ByLane, r.ByRole, r.ByGrade, r.ByRound)
	}
	if r.Cases[event.CaseReferred] != 1 || r.Cases[event.CaseAwaitingRecheck] != 0 || r.Disposition[event.DispositionParentFeverClinic] != 1 {
		t.Fatalf("cases %+v %+v", r.Cases, r.Disposition)
	}
	abs := tally.Absentees(day.End)
	if r.Absentees != 1 || len(abs["1A"]) != 1 || abs["1A"][0].ID != "S2" {
		t.Fatalf("absentees %d %+v", r.Absentees, abs)
	}
}

func TestDeviceUptime(t *testing.T) {
	ro, sc, day := testSchool(t)
	tally := NewTally(day, ro, sc)
	h := func(seq uint64, at time.Duration, state string) {
		ev, _ := event.New(event.KindHealth, event.Health{Component: "device", Device: "gun1", State: state})
		ev.Seq, ev.Wall = seq, day.Start.Add(at).UnixNano()
		if err := tally.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	h(1, 6*time.Hour, event.HealthDown)
	h(2, 12*time.Hour, event.HealthUp)
	r := tally.Report(day.End)
	if r.DeviceUptime["gun1"] != 0.75 || r.DeviceFaults["gun1"] != 1 {
		t.Fatalf("uptime %v faults %v", r.DeviceUptime, r.DeviceFaults)
	}
}

// On a day the school is closed nobody is absent: every Saturday listed the
// whole school as absent unrecorded, and the uploaded report counted it so.
// Holidays close an open weekday, makeup days (调休) open a closed one.
func TestClosedDaysHaveNoAbsentees(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	sch := gateCalendar()
	sch.Holidays, sch.MakeupDays = []string{"2026-10-01"}, []string{"2026-10-11"}
	sc, err := NewSchedule(sch, loc)
	if err != nil {
		t.Fatal(err)
	}
	ro, _, _ := testSchool(t)
	for day, open := range map[string]bool{
		"2026-11-23": true,  // a Monday
		"2026-11-28": false, // a Saturday
		"2026-11-29": false, // a Sunday
		"2026-10-01": false, // a Thursday, National Day
		"2026-10-11": true,  // a Sunday, a makeup day
	} {
		if got := sc.Open(day); got != open {
			t.Errorf("Open(%s) = %v, want %v", day, got, open)
		}
		d, err := sc.ParseDay(day)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if open {
			want = 3
		}
		if r := NewTally(d, ro, sc).Report(d.End); r.Absentees != want {
			t.Errorf("%s: %d absentees, want %d", day, r.Absentees, want)
		}
	}
}
