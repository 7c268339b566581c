package pipeline

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
)

// CaseStore persists case transitions. storage implements it.
type CaseStore interface {
	// Append stores one event; a KindCase event is committed at once.
	Append(event.Event) error
	// OpenCases returns the latest state of every case not in a final state
	// (cleared, closed), with Drill set for a drill's case.
	OpenCases() ([]event.Case, error)
	// CasesOn returns every case of a local day ("2006-01-02"), latest state
	// each, with Drill set for a drill's case.
	CasesOn(day string) ([]event.Case, error)
}

// Clock tells how far event times can be trusted. sync/clock implements it.
type Clock interface {
	BootID() string
	Synced() bool
}

// Errors of case transitions; returned wrapped with the ticket.
var (
	// ErrNoCase: no case has that ticket.
	ErrNoCase = errors.New("no such case")
	// ErrIllegalTransition: the case's state does not allow the action.
	ErrIllegalTransition = errors.New("illegal case transition")
	// ErrBadInput: a temperature or outcome that cannot be recorded.
	ErrBadInput = errors.New("bad input")
)

// CaseOpts configures Cases.
type CaseOpts struct {
	// Store persists every transition; required.
	Store CaseStore
	// Lanes names the lanes, indexed like Measurement.Lane.
	Lanes []Lane
	// Location is the school's timezone: tickets restart at R-001 every
	// local day. Required: the machine's zone (often UTC) is not the
	// school's, and would restart tickets mid-morning in Shanghai.
	Location *time.Location
	// ThresholdC decides a re-check: at or above it confirms; default 37.3.
	// A Pipeline with this Cases in Opts.Cases keeps it in step on Reload.
	ThresholdC float64
	// RecheckOverdue marks a case waiting longer as overdue; default 10 min.
	RecheckOverdue time.Duration
	// Clock stamps events with the boot id and clock quality; nil: unknown.
	Clock Clock
	// Mono is the daemon's monotonic clock (as drivers.Reading.Mono), used
	// for transitions the doctor makes; nil stamps them 0.
	Mono func() int64
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// Logger; the zero value logs nothing.
	Logger zerolog.Logger
	// OnChange is called after every transition, outside any lock (the
	// daemon forwards it to the screen and the lamps). Drill is set for a
	// drill's case.
	OnChange func(event.Case)
	// LateRestore makes NewCases return without reading the store, for a
	// daemon whose store is still being checked: the caller calls Restore
	// once it can be read. Until then a flag's ticket, the cases sink and
	// the doctor's actions and look-ups wait for it (the next ticket of the
	// day is only known from the store). False: NewCases restores.
	LateRestore bool
}

// Cases is the re-check case state machine:
//
//	awaiting_recheck → cleared (re-check < threshold)
//	                 → confirmed (re-check ≥ threshold) → referred → closed
//
// A flag opens a case; the doctor (Recheck, Refer, Close) or a measurement
// on a lane of role recheck moves it on. Every transition is appended to the
// store as an urgent KindCase event before it takes effect. Cases is a Sink
// (fed by its own ring, so a slow store never delays the lamps) and is safe
// for concurrent use.
type Cases struct {
	o       CaseOpts
	log     zerolog.Logger
	recheck []bool // by lane index: role recheck

	// tickets packs the local day number (high 32 bits) and the last ticket
	// drawn that day (low 32): the stage goroutine draws without a lock.
	tickets   atomic.Uint64
	threshold atomic.Uint64 // float64 bits

	// restored is closed once the store's cases were read (Restore).
	restored    chan struct{}
	restoreOnce sync.Once

	mu       sync.Mutex
	cases    map[string]*caseRec // by day/ticket
	selected string              // key of the case the next re-check resolves
}

// caseRec is a case's latest state; c.Drill marks a drill's case, whose
// every transition is stored as a drill event.
type caseRec struct {
	c event.Case
}

// NewCases restores the open cases and today's ticket counter from the store.
func NewCases(o CaseOpts) (*Cases, error) {
	if o.Store == nil {
		return nil, errors.New("pipeline: cases: no store")
	}
	if o.Location == nil {
		return nil, errors.New("pipeline: cases: no Location (the school's timezone)")
	}
	if o.ThresholdC == 0 {
		o.ThresholdC = Params{}.withDefaults().ThresholdC
	}
	if o.RecheckOverdue <= 0 {
		o.RecheckOverdue = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cases{o: o, log: o.Logger.With().Str("component", "cases").Logger(),
		cases: map[string]*caseRec{}, restored: make(chan struct{})}
	for _, l := range o.Lanes {
		c.recheck = append(c.recheck, l.Role == event.RoleRecheck)
	}
	c.setThreshold(o.ThresholdC)
	if o.LateRestore {
		return c, nil
	}
	if err := c.Restore(); err != nil {
		return nil, err
	}
	return c, nil
}

// Restore reads the open cases and today's ticket counter from the store,
// once; see CaseOpts.LateRestore. What waits for it goes on even when it
// fails, with no cases restored.
func (c *Cases) Restore() (err error) {
	c.restoreOnce.Do(func() {
		defer close(c.restored)
		err = c.restore()
	})
	return err
}

func (c *Cases) restore() error {
	open, err := c.o.Store.OpenCases()
	if err != nil {
		return fmt.Errorf("pipeline: cases: restore open cases: %w", err)
	}
	now := c.o.Now()
	today := c.day(now)
	todays, err := c.o.Store.CasesOn(today)
	if err != nil {
		return fmt.Errorf("pipeline: cases: restore cases of %s: %w", today, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	last := 0
	for _, cs := range append(todays, open...) {
		c.cases[caseKey(cs.Day, cs.Ticket)] = &caseRec{c: cs}
		if n, ok := ticketNumber(cs.Ticket); ok && cs.Day == today {
			last = max(last, n)
		}
	}
	c.tickets.Store(uint64(c.dayNumber(now))<<32 | uint64(last))
	return nil
}

// lock takes c.mu once the cases are restored.
func (c *Cases) lock() {
	<-c.restored
	c.mu.Lock()
}

func caseKey(day, ticket string) string { return day + "/" + ticket }

func ticketNumber(t string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(t, "R-"))
	return n, err == nil && strings.HasPrefix(t, "R-")
}

func (c *Cases) day(t time.Time) string { return t.In(c.o.Location).Format(time.DateOnly) }

// dayNumber counts local days since 1970-01-01; no allocation.
func (c *Cases) dayNumber(t time.Time) int64 {
	y, m, d := t.In(c.o.Location).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func (c *Cases) setThreshold(t float64) { c.threshold.Store(math.Float64bits(t)) }

// drawTicket returns the next ticket number of the local day of wall,
// lock-free (it runs on the stage goroutine). The counter never moves back
// to an earlier day, so a wall clock set back cannot reuse a number.
func (c *Cases) drawTicket(wall int64) uint16 {
	<-c.restored
	day := uint64(c.dayNumber(time.Unix(0, wall)))
	for {
		old := c.tickets.Load()
		next := old + 1
		if day > old>>32 {
			next = day<<32 | 1
		}
		if c.tickets.CompareAndSwap(old, next) {
			return uint16(next)
		}
	}
}

func (c *Cases) isRecheckLane(l uint8) bool { return int(l) < len(c.recheck) && c.recheck[l] }

// Wants implements Filter: the cases ring only carries flags that drew a
// ticket and pass/flag measurements of re-check lanes.
func (c *Cases) Wants(m *Measurement) bool {
	if m.Verdict == VerdictFlag && m.Ticket > 0 {
		return true
	}
	return c.isRecheckLane(m.Lane) && (m.Verdict == VerdictPass || m.Verdict == VerdictFlag)
}

// Consume implements Sink: a flag opens a case; a re-check lane's reading
// resolves the selected case, else the oldest waiting one.
func (c *Cases) Consume(m *Measurement) {
	if m.Verdict == VerdictFlag && m.Ticket > 0 {
		c.openFromFlag(m)
		return
	}
	if c.Wants(m) {
		c.recheckFromLane(m)
	}
}

func (c *Cases) laneOf(l uint8) Lane {
	if int(l) < len(c.o.Lanes) {
		return c.o.Lanes[l]
	}
	return Lane{Name: strconv.Itoa(int(l))}
}

func (c *Cases) openFromFlag(m *Measurement) {
	ln := c.laneOf(m.Lane)
	// To 0.01 °C, as the reading that flagged: a plateau's mean carries
	// float noise (38.623333333333335), not data.
	flag := float64(hundredths(m.BodyC)) / 100
	cs := event.Case{Ticket: TicketName(m.Ticket), Lane: ln.Name, Role: ln.Role,
		State: event.CaseAwaitingRecheck, FlagC: &flag, Actor: "system",
		PersonID: m.PersonID(), OpenedAt: event.Time(m.Wall), Drill: m.Drill}
	c.lock()
	cs.Day = c.day(time.Unix(0, m.Wall))
	key := caseKey(cs.Day, cs.Ticket)
	if _, dup := c.cases[key]; dup {
		// Only when the wall clock went back across midnight: the counter
		// stayed on its later day, so the ticket belongs there.
		cs.Day = time.Unix(int64(c.tickets.Load()>>32)*86400, 0).UTC().Format(time.DateOnly)
		key = caseKey(cs.Day, cs.Ticket)
	}
	c.pruneFinal(cs.Day)
	rec := &caseRec{c: cs}
	c.cases[key] = rec
	// Stamped with the flagged measurement's times, as EventSink stamps
	// its reading: storage links the two by them and the ticket.
	err := c.persist(rec, m.Mono, m.Wall)
	c.mu.Unlock()
	if err != nil {
		// The case stays open on the screen: a flagged person is never
		// forgotten because the SD card failed.
		c.log.Error().Err(err).Str("ticket", cs.Ticket).Msg("persist opened case")
	}
	c.notify(cs)
}

// pruneFinal forgets final cases of other days; their history is in the store.
func (c *Cases) pruneFinal(today string) {
	for k, r := range c.cases {
		if r.c.Day != today && final(r.c.State) {
			delete(c.cases, k)
		}
	}
}

func final(state string) bool { return state == event.CaseCleared || state == event.CaseClosed }

func (c *Cases) recheckFromLane(m *Measurement) {
	ln := c.laneOf(m.Lane)
	c.lock()
	rec := c.cases[c.selected]
	if rec == nil || rec.c.State != event.CaseAwaitingRecheck {
		rec = c.oldestAwaiting()
	}
	if rec == nil {
		c.mu.Unlock()
		c.log.Info().Str("lane", ln.Name).Float64("body_c", m.BodyC).Msg("re-check reading with no case waiting")
		return
	}
	cs, err := c.recheckLocked(rec, m.BodyC, "lane:"+ln.Name, m.Mono, m.Wall)
	c.mu.Unlock()
	if err != nil {
		c.log.Error().Err(err).Str("ticket", rec.c.Ticket).Msg("re-check from lane")
		return
	}
	c.notify(cs)
}

func (c *Cases) oldestAwaiting() *caseRec {
	var best *caseRec
	for _, r := range c.cases {
		if r.c.State == event.CaseAwaitingRecheck && (best == nil || older(&r.c, &best.c)) {
			best = r
		}
	}
	return best
}

func older(a, b *event.Case) bool {
	if a.OpenedAt != b.OpenedAt {
		return a.OpenedAt < b.OpenedAt
	}
	if a.Day != b.Day {
		return a.Day < b.Day
	}
	na, _ := ticketNumber(a.Ticket)
	nb, _ := ticketNumber(b.Ticket)
	return na < nb
}

// persist appends the case's state as an urgent KindCase event.
func (c *Cases) persist(rec *caseRec, mono, wall int64) error {
	ev, err := event.New(event.KindCase, rec.c)
	if err != nil {
		return err
	}
	ev.Urgent, ev.Mono, ev.Wall, ev.Drill = true, mono, wall, rec.c.Drill
	if c.o.Clock != nil {
		ev.BootID, ev.ClockSynced = c.o.Clock.BootID(), c.o.Clock.Synced()
	}
	if err := c.o.Store.Append(ev); err != nil {
		return fmt.Errorf("case %s %s: persist %s: %w", rec.c.Day, rec.c.Ticket, rec.c.State, err)
	}
	return nil
}

func (c *Cases) notify(cs event.Case) {
	if c.o.OnChange != nil {
		c.o.OnChange(cs)
	}
}

// find resolves "R-003" (the latest day's R-003) or "2026-11-23/R-003".
func (c *Cases) find(ticket string) (*caseRec, error) {
	if r, ok := c.cases[ticket]; ok {
		return r, nil
	}
	var best *caseRec
	for _, r := range c.cases {
		if r.c.Ticket == ticket && (best == nil || r.c.Day > best.c.Day) {
			best = r
		}
	}
	if best == nil {
		return nil, fmt.Errorf("case %q: %w", ticket, ErrNoCase)
	}
	return best, nil
}

// transitionLocked moves rec from state from to the state change sets,
// persisting first: a transition the store refused does not happen.
func (c *Cases) transitionLocked(rec *caseRec, from, action, actor string, mono, wall int64, change func(*event.Case)) (event.Case, error) {
	if rec.c.State != from {
		return event.Case{}, fmt.Errorf("case %s: %s in state %s: %w", rec.c.Ticket, action, rec.c.State, ErrIllegalTransition)
	}
	if actor == "" {
		actor = "doctor"
	}
	next := *rec
	next.c.From, next.c.Actor = rec.c.State, actor
	change(&next.c)
	if err := c.persist(&next, mono, wall); err != nil {
		return event.Case{}, err
	}
	*rec = next
	if c.cases[c.selected] == rec && next.c.State != event.CaseAwaitingRecheck {
		c.selected = ""
	}
	return next.c, nil
}

func (c *Cases) recheckLocked(rec *caseRec, tempC float64, actor string, mono, wall int64) (event.Case, error) {
	if math.IsNaN(tempC) || tempC < BodyMinC || tempC > BodyMaxC {
		return event.Case{}, fmt.Errorf("case %s: re-check %v °C outside %v–%v: %w", rec.c.Ticket, tempC, BodyMinC, BodyMaxC, ErrBadInput)
	}
	state := event.CaseCleared
	if hundredths(tempC) >= hundredths(math.Float64frombits(c.threshold.Load())) {
		state = event.CaseConfirmed
	}
	return c.transitionLocked(rec, event.CaseAwaitingRecheck, "re-check", actor, mono, wall, func(cs *event.Case) {
		tempC = float64(hundredths(tempC)) / 100
		cs.State, cs.RecheckC = state, &tempC
	})
}

func (c *Cases) mono() int64 {
	if c.o.Mono == nil {
		return 0
	}
	return c.o.Mono()
}

// doctor runs one of the doctor's actions on a ticket and notifies.
func (c *Cases) doctor(ticket string, act func(rec *caseRec, mono, wall int64) (event.Case, error)) (event.Case, error) {
	mono, wall := c.mono(), c.o.Now().UnixNano()
	c.lock()
	rec, err := c.find(ticket)
	if err == nil {
		var cs event.Case
		cs, err = act(rec, mono, wall)
		c.mu.Unlock()
		if err == nil {
			c.notify(cs)
		}
		return cs, err
	}
	c.mu.Unlock()
	return event.Case{}, err
}

// Recheck records the doctor's clinical re-measurement: below the threshold
// clears the case, at or above confirms it.
func (c *Cases) Recheck(ticket string, tempC float64, actor string) (event.Case, error) {
	return c.doctor(ticket, func(rec *caseRec, mono, wall int64) (event.Case, error) {
		return c.recheckLocked(rec, tempC, actor, mono, wall)
	})
}

// Refer records the disposition of a confirmed case: cdc_transfer with
// contact history, parent_fever_clinic without.
func (c *Cases) Refer(ticket string, contactHistory bool, actor string) (event.Case, error) {
	disp := event.DispositionParentFeverClinic
	if contactHistory {
		disp = event.DispositionCDCTransfer
	}
	return c.doctor(ticket, func(rec *caseRec, mono, wall int64) (event.Case, error) {
		return c.transitionLocked(rec, event.CaseConfirmed, "refer", actor, mono, wall, func(cs *event.Case) {
			cs.State, cs.ContactHistory, cs.Disposition = event.CaseReferred, &contactHistory, disp
		})
	})
}

// Close records the outcome reported back (hospital, clinic, parent) on a
// referred case.
func (c *Cases) Close(ticket string, outcome string, actor string) (event.Case, error) {
	outcome = strings.TrimSpace(outcome)
	return c.doctor(ticket, func(rec *caseRec, mono, wall int64) (event.Case, error) {
		if outcome == "" {
			return event.Case{}, fmt.Errorf("case %s: close without an outcome: %w", rec.c.Ticket, ErrBadInput)
		}
		return c.transitionLocked(rec, event.CaseReferred, "close", actor, mono, wall, func(cs *event.Case) {
			cs.State, cs.Outcome = event.CaseClosed, outcome
		})
	})
}

// Select makes the next re-check lane reading resolve this case; "" goes
// back to the oldest waiting one.
func (c *Cases) Select(ticket string) error {
	c.lock()
	defer c.mu.Unlock()
	if ticket == "" {
		c.selected = ""
		return nil
	}
	rec, err := c.find(ticket)
	if err != nil {
		return err
	}
	if rec.c.State != event.CaseAwaitingRecheck {
		return fmt.Errorf("case %s: select in state %s: %w", rec.c.Ticket, rec.c.State, ErrIllegalTransition)
	}
	c.selected = caseKey(rec.c.Day, rec.c.Ticket)
	return nil
}

// Get returns a case's latest state: "R-003" is the latest day's R-003,
// "2026-11-23/R-003" names the day.
func (c *Cases) Get(ticket string) (event.Case, bool) {
	c.lock()
	defer c.mu.Unlock()
	rec, err := c.find(ticket)
	if err != nil {
		return event.Case{}, false
	}
	return rec.c, true
}

// Open returns the cases not cleared or closed, oldest first.
func (c *Cases) Open() []event.Case {
	c.lock()
	var out []event.Case
	for _, r := range c.cases {
		if !final(r.c.State) {
			out = append(out, r.c)
		}
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return older(&out[i], &out[j]) })
	return out
}

// IsOverdue reports whether cs has waited for its re-check longer than
// RecheckOverdue at now.
func (c *Cases) IsOverdue(cs event.Case, now time.Time) bool {
	return cs.State == event.CaseAwaitingRecheck && now.Sub(cs.OpenedAt.Time()) > c.o.RecheckOverdue
}

// Overdue returns the cases overdue at now, oldest first.
func (c *Cases) Overdue(now time.Time) []event.Case {
	var out []event.Case
	for _, cs := range c.Open() {
		if c.IsOverdue(cs, now) {
			out = append(out, cs)
		}
	}
	return out
}

func (c *Cases) awaitingByLane() map[string]int {
	c.lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, r := range c.cases {
		if r.c.State == event.CaseAwaitingRecheck {
			out[r.c.Lane]++
		}
	}
	return out
}
