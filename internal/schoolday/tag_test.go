package schoolday

import (
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
)

func TestTagReadingRoundAndLate(t *testing.T) {
	g := reportOffice(t)
	g.cfg.School.Windows = []school.Window{{Grade: "1", From: "07:20", To: "07:40"}}
	sched, err := school.NewSchedule(g.cfg.School.Calendar(), g.loc)
	if err != nil {
		t.Fatal(err)
	}
	g.o.Schedule = sched
	ro, err := school.ParseRoster("r.csv", []byte("id,name,class,grade\nS1,Ann,1A,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	g.o.Roster.current.Store(ro)
	at := func(hh, mm int) *pipeline.Measurement {
		return &pipeline.Measurement{Wall: time.Date(2026, 11, 23, hh, mm, 0, 0, g.loc).UnixNano()}
	}
	r := event.Reading{PersonID: "S1"}
	g.TagReading(at(7, 45), &r)
	if r.Round != "morning" || !r.Late {
		t.Fatalf("07:45: %+v", r)
	}
	r = event.Reading{PersonID: "S1"}
	g.TagReading(at(7, 30), &r)
	if r.Late {
		t.Fatalf("07:30 is within the window: %+v", r)
	}
	r = event.Reading{}
	g.TagReading(&pipeline.Measurement{Wall: 1}, &r)
	if r.Round != "" {
		t.Fatalf("1970: %+v", r)
	}
}
