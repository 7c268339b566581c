package screen

import (
	"fmt"
	"sync"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// fakeDesk follows the case state machine of DESIGN.md: awaiting_recheck →
// cleared (< threshold) or confirmed → referred (disposition by contact
// history) → closed. Every change is passed to onChange, as the daemon
// passes pipeline.Cases transitions to Screen.CaseChanged.
type fakeDesk struct {
	mu       sync.Mutex
	next     int
	cases    map[string]event.Case
	actors   []string
	onChange func(event.Case)
}

func newFakeDesk() *fakeDesk { return &fakeDesk{cases: make(map[string]event.Case)} }

// flag opens a case as the pipeline does for a flagged measurement.
func (d *fakeDesk) flag(lane string, flagC float64, openedAt time.Time) event.Case {
	d.mu.Lock()
	d.next++
	c := event.Case{Ticket: fmt.Sprintf("R-%03d", d.next), Lane: lane, State: event.CaseAwaitingRecheck,
		FlagC: &flagC, Actor: "lane:" + lane, OpenedAt: event.TimeOf(openedAt)}
	d.cases[c.Ticket] = c
	notify := d.onChange
	d.mu.Unlock()
	if notify != nil {
		notify(c)
	}
	return c
}

func (d *fakeDesk) Open() []event.Case {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []event.Case
	for _, c := range d.cases {
		if c.State != event.CaseCleared && c.State != event.CaseClosed {
			out = append(out, c)
		}
	}
	return out
}

func (d *fakeDesk) Get(ticket string) (event.Case, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.cases[ticket]
	return c, ok
}

func (d *fakeDesk) transition(ticket, from, actor string, change func(*event.Case)) (event.Case, error) {
	d.mu.Lock()
	c, ok := d.cases[ticket]
	if !ok {
		d.mu.Unlock()
		return event.Case{}, fmt.Errorf("case %s: not found", ticket)
	}
	if c.State != from {
		d.mu.Unlock()
		return event.Case{}, fmt.Errorf("case %s: is %s, want %s", ticket, c.State, from)
	}
	c.From, c.Actor = c.State, actor
	change(&c)
	d.cases[ticket] = c
	d.actors = append(d.actors, actor)
	notify := d.onChange
	d.mu.Unlock()
	if notify != nil {
		notify(c)
	}
	return c, nil
}

func (d *fakeDesk) Recheck(ticket string, tempC float64, actor string) (event.Case, error) {
	return d.transition(ticket, event.CaseAwaitingRecheck, actor, func(c *event.Case) {
		c.RecheckC = &tempC
		c.State = event.CaseCleared
		if tempC >= 37.3 {
			c.State = event.CaseConfirmed
		}
	})
}

func (d *fakeDesk) Refer(ticket string, contact bool, actor string) (event.Case, error) {
	return d.transition(ticket, event.CaseConfirmed, actor, func(c *event.Case) {
		c.ContactHistory = &contact
		c.State = event.CaseReferred
		c.Disposition = event.DispositionParentFeverClinic
		if contact {
			c.Disposition = event.DispositionCDCTransfer
		}
	})
}

func (d *fakeDesk) Close(ticket, outcome, actor string) (event.Case, error) {
	return d.transition(ticket, event.CaseReferred, actor, func(c *event.Case) {
		c.Outcome = outcome
		c.State = event.CaseClosed
	})
}

func (d *fakeDesk) actorLog() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.actors...)
}

var _ Desk = (*fakeDesk)(nil)
