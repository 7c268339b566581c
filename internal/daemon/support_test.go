package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/sync/clock"
)

// Anchors of earlier boots are kept (bounded): their events may still wait
// for upload.
func TestAnchorFileKeepsEarlierBoots(t *testing.T) {
	a := anchorFile(filepath.Join(t.TempDir(), "events.db"))
	if got := a.load(); got != nil {
		t.Fatalf("fresh file: %v", got)
	}
	for i := range maxAnchors + 3 {
		if err := a.save(clock.Anchor{BootID: string(rune('a' + i)), Mono: int64(i), Wall: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := a.load()
	if len(got) != maxAnchors {
		t.Fatalf("%d anchors kept, want %d", len(got), maxAnchors)
	}
	if got[0].BootID != string(rune('a'+maxAnchors+2)) {
		t.Fatalf("latest anchor first: got %q", got[0].BootID)
	}
	// Saving the same boot again replaces it.
	if err := a.save(clock.Anchor{BootID: got[0].BootID, Mono: 99}); err != nil {
		t.Fatal(err)
	}
	if again := a.load(); len(again) != maxAnchors || again[0].Mono != 99 {
		t.Fatalf("resave: %d anchors, first %+v", len(again), again[0])
	}
}

func TestTagReadingRoundAndLate(t *testing.T) {
	g := reportGate(t)
	g.cfg.School.Windows = []school.Window{{Grade: "1", From: "07:20", To: "07:40"}}
	sched, err := school.NewSchedule(SchoolCalendar(g.cfg.School), g.loc)
	if err != nil {
		t.Fatal(err)
	}
	g.sched = sched
	ro, err := school.ParseRoster("r.csv", []byte("id,name,class,grade\nS1,Ann,1A,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	g.roster.current.Store(ro)
	at := func(hh, mm int) *pipeline.Measurement {
		return &pipeline.Measurement{Wall: time.Date(2026, 11, 23, hh, mm, 0, 0, g.loc).UnixNano()}
	}
	r := event.Reading{PersonID: "S1"}
	g.tagReading(at(7, 45), &r)
	if r.Round != "morning" || !r.Late {
		t.Fatalf("07:45: %+v", r)
	}
	r = event.Reading{PersonID: "S1"}
	g.tagReading(at(7, 30), &r)
	if r.Late {
		t.Fatalf("07:30 is within the window: %+v", r)
	}
	r = event.Reading{}
	g.tagReading(&pipeline.Measurement{Wall: 1}, &r)
	if r.Round != "" {
		t.Fatalf("1970: %+v", r)
	}
}
