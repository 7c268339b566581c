package screen

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
)

// A drill case restored after a restart comes without its drill reading;
// the case itself says it is a drill (event.Case.Drill).
func TestRestoredDrillCaseMarked(t *testing.T) {
	desk := newFakeDesk()
	drill := desk.flag("A", 38.2, time.Now())
	desk.mu.Lock()
	drill.Drill = true
	desk.cases[drill.Ticket] = drill
	desk.mu.Unlock()
	desk.flag("B", 37.9, time.Now())
	s, err := New(Opts{Lanes: testLanes, Desk: desk, DoctorPIN: []byte("1"), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		s.mu.Lock()
		defer s.mu.Unlock()
		cs := s.casesView()
		if len(cs) != 2 {
			t.Fatalf("%s: cases %+v", when, cs)
		}
		for _, c := range cs {
			if c.Drill != (c.Ticket == drill.Ticket) {
				t.Errorf("%s: %s drill %v", when, c.Ticket, c.Drill)
			}
		}
	}
	check("at start")
	drill.State, drill.From = event.CaseConfirmed, event.CaseAwaitingRecheck
	s.CaseChanged(drill)
	check("after a transition")
}
