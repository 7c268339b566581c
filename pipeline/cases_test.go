package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
)

// caseLog is a CaseStore that keeps every event, as storage does, and
// answers OpenCases/CasesOn from them. fail makes Append refuse.
type caseLog struct {
	mu     sync.Mutex
	events []event.Event
	fail   error
}

func (s *caseLog) Append(ev event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	ev.Seq = uint64(len(s.events) + 1)
	s.events = append(s.events, ev)
	return nil
}

func (s *caseLog) latest() (map[string]event.Case, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]event.Case{}
	var order []string
	for _, ev := range s.events {
		var c event.Case
		if err := ev.Decode(&c); err != nil {
			panic(err)
		}
		c.Drill = ev.Drill
		k := c.Day + "/" + c.Ticket
		if _, ok := out[k]; !ok {
			order = append(order, k)
		}
		out[k] = c
	}
	return out, order
}

func (s *caseLog) OpenCases() ([]event.Case, error) {
	all, order := s.latest()
	var out []event.Case
	for _, k := range order {
		if c := all[k]; c.State != event.CaseCleared && c.State != event.CaseClosed {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *caseLog) CasesOn(day string) ([]event.Case, error) {
	all, order := s.latest()
	var out []event.Case
	for _, k := range order {
		if all[k].Day == day {
			out = append(out, all[k])
		}
	}
	return out, nil
}

var cst = time.FixedZone("CST", 8*3600)

type fixedClock struct{}

func (fixedClock) BootID() string { return "boot-1" }
func (fixedClock) Synced() bool   { return true }

// casesAt returns Cases on the three-lane gate whose wall clock reads *now.
func casesAt(t *testing.T, store CaseStore, now *time.Time, changes *[]event.Case) *Cases {
	t.Helper()
	c, err := NewCases(CaseOpts{
		Store: store, Lanes: gate().Lanes, Location: cst, Clock: fixedClock{},
		Now:      func() time.Time { return *now },
		Mono:     func() int64 { return 42 },
		Logger:   zerolog.Nop(),
		OnChange: func(cs event.Case) { *changes = append(*changes, cs) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// flag feeds Cases a flag of lane 0 as the pipeline's route stage would.
func flag(c *Cases, wall time.Time, bodyC float64) string {
	m := Measurement{Lane: 0, Verdict: VerdictFlag, Reason: ReasonThreshold, BodyC: bodyC, Wall: wall.UnixNano(), Mono: 7}
	m.Ticket = c.drawTicket(m.Wall)
	m.SetPersonID("S-0001")
	if !c.Wants(&m) {
		panic("cases do not want a flag")
	}
	c.Consume(&m)
	return TicketName(m.Ticket)
}

func TestCaseLegalTransitions(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	store := &caseLog{}
	var changes []event.Case
	c := casesAt(t, store, &now, &changes)

	a, b, d := flag(c, now, 37.9), flag(c, now.Add(time.Second), 38.4), flag(c, now.Add(2*time.Second), 38.1)
	if a != "R-001" || b != "R-002" || d != "R-003" {
		t.Fatalf("tickets %s %s %s", a, b, d)
	}
	if got, _ := c.Get(a); got.State != event.CaseAwaitingRecheck || got.Day != "2026-11-23" || got.Lane != "L1" || *got.FlagC != 37.9 || got.PersonID != "S-0001" {
		t.Errorf("opened case %+v", got)
	}
	steps := []struct {
		name  string
		do    func() (event.Case, error)
		state string
	}{
		{"a cleared", func() (event.Case, error) { return c.Recheck(a, 36.8, "doctor") }, event.CaseCleared},
		{"b confirmed", func() (event.Case, error) { return c.Recheck(b, 37.3, "doctor") }, event.CaseConfirmed},
		{"b referred to the CDC", func() (event.Case, error) { return c.Refer(b, true, "doctor") }, event.CaseReferred},
		{"b closed", func() (event.Case, error) { return c.Close(b, "hospital: influenza A", "doctor") }, event.CaseClosed},
		{"d confirmed", func() (event.Case, error) { return c.Recheck(d, 38.0, "") }, event.CaseConfirmed},
		{"d to a fever clinic", func() (event.Case, error) { return c.Refer(d, false, "doctor") }, event.CaseReferred},
	}
	for _, s := range steps {
		cs, err := s.do()
		if err != nil || cs.State != s.state {
			t.Fatalf("%s: state %q err %v, want %s", s.name, cs.State, err, s.state)
		}
	}
	if got, _ := c.Get(b); got.Disposition != event.DispositionCDCTransfer || !*got.ContactHistory || got.Outcome != "hospital: influenza A" || got.From != event.CaseReferred {
		t.Errorf("b = %+v", got)
	}
	if got, _ := c.Get(d); got.Disposition != event.DispositionParentFeverClinic || got.Actor != "doctor" {
		t.Errorf("d = %+v", got)
	}
	open := c.Open()
	if len(open) != 1 || open[0].Ticket != d {
		t.Errorf("open = %+v, want only %s", open, d)
	}
	// 3 opens + 6 transitions, each persisted as an urgent case event and
	// announced.
	if len(store.events) != 9 || len(changes) != 9 {
		t.Fatalf("%d events, %d changes, want 9", len(store.events), len(changes))
	}
	for _, ev := range store.events {
		if ev.Kind != event.KindCase || !ev.Urgent || ev.BootID != "boot-1" || !ev.ClockSynced {
			t.Errorf("event %+v", ev)
		}
	}
	if last := store.events[8]; last.Mono != 42 || last.Wall != now.UnixNano() {
		t.Errorf("doctor's transition stamped mono %d wall %d", last.Mono, last.Wall)
	}
}

func TestCaseIllegalTransitions(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	var changes []event.Case
	c := casesAt(t, &caseLog{}, &now, &changes)
	waiting := flag(c, now, 37.5)
	cleared := flag(c, now, 37.5)
	if _, err := c.Recheck(cleared, 36.5, "doctor"); err != nil {
		t.Fatal(err)
	}
	confirmed := flag(c, now, 38.5)
	if _, err := c.Recheck(confirmed, 38.5, "doctor"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"refer a waiting case", func() error { _, err := c.Refer(waiting, true, "d"); return err }, ErrIllegalTransition},
		{"close a waiting case", func() error { _, err := c.Close(waiting, "x", "d"); return err }, ErrIllegalTransition},
		{"re-check a cleared case", func() error { _, err := c.Recheck(cleared, 38, "d"); return err }, ErrIllegalTransition},
		{"refer a cleared case", func() error { _, err := c.Refer(cleared, false, "d"); return err }, ErrIllegalTransition},
		{"re-check a confirmed case", func() error { _, err := c.Recheck(confirmed, 36, "d"); return err }, ErrIllegalTransition},
		{"close a confirmed case", func() error { _, err := c.Close(confirmed, "x", "d"); return err }, ErrIllegalTransition},
		{"select a confirmed case", func() error { return c.Select(confirmed) }, ErrIllegalTransition},
		{"implausible re-check", func() error { _, err := c.Recheck(waiting, 50, "d"); return err }, ErrBadInput},
		{"unknown ticket", func() error { _, err := c.Recheck("R-099", 37, "d"); return err }, ErrNoCase},
	}
	for _, tc := range tests {
		if err := tc.do(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := c.Refer(confirmed, true, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Close(confirmed, "  ", "d"); !errors.Is(err, ErrBadInput) {
		t.Errorf("close without outcome: %v", err)
	}
	if _, err := c.Close(confirmed, "back at school", "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Close(confirmed, "again", "d"); !errors.Is(err, ErrIllegalTransition) {
		t.Errorf("close a closed case: %v", err)
	}
	if got, _ := c.Get(waiting); got.State != event.CaseAwaitingRecheck {
		t.Errorf("refused transitions changed the case: %+v", got)
	}
}

func TestCaseStoreFailureRefusesDoctorAction(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	store := &caseLog{}
	var changes []event.Case
	c := casesAt(t, store, &now, &changes)
	tk := flag(c, now, 37.5)
	store.fail = errors.New("disk full")
	if _, err := c.Recheck(tk, 36.5, "doctor"); err == nil {
		t.Fatal("want the store's error")
	}
	if got, _ := c.Get(tk); got.State != event.CaseAwaitingRecheck {
		t.Errorf("state %s after a refused append", got.State)
	}
	// A flag opens its case even when the store fails: the person is never
	// forgotten.
	tk2 := flag(c, now, 38)
	if got, ok := c.Get(tk2); !ok || got.State != event.CaseAwaitingRecheck {
		t.Errorf("flag with a failing store: %+v %v", got, ok)
	}
}

func TestCasesSurviveRestart(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	store := &caseLog{}
	var changes []event.Case
	c := casesAt(t, store, &now, &changes)
	a := flag(c, now, 37.5)
	b := flag(c, now.Add(time.Second), 38.5)
	if _, err := c.Recheck(a, 36.5, "doctor"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recheck(b, 38.5, "doctor"); err != nil {
		t.Fatal(err)
	}

	now = now.Add(time.Hour)
	c2 := casesAt(t, store, &now, &changes)
	open := c2.Open()
	if len(open) != 1 || open[0].Ticket != b || open[0].State != event.CaseConfirmed {
		t.Fatalf("after restart open = %+v", open)
	}
	if got, ok := c2.Get(a); !ok || got.State != event.CaseCleared {
		t.Errorf("today's cleared case after restart: %+v %v", got, ok)
	}
	if next := flag(c2, now, 37.8); next != "R-003" {
		t.Errorf("ticket after restart %s, want R-003", next)
	}
	if _, err := c2.Refer(b, false, "doctor"); err != nil {
		t.Errorf("continue a restored case: %v", err)
	}
}

func TestTicketsRestartEachLocalDay(t *testing.T) {
	now := time.Date(2026, 11, 23, 23, 59, 0, 0, cst)
	store := &caseLog{}
	var changes []event.Case
	c := casesAt(t, store, &now, &changes)
	if a, b := flag(c, now, 37.5), flag(c, now.Add(30*time.Second), 37.5); a != "R-001" || b != "R-002" {
		t.Fatalf("day 1: %s %s", a, b)
	}
	// 16:00 UTC is midnight in Shanghai.
	next := time.Date(2026, 11, 23, 16, 0, 1, 0, time.UTC)
	if tk := flag(c, next, 37.5); tk != "R-001" {
		t.Errorf("first ticket of the next day %s, want R-001", tk)
	}
	// Yesterday's R-001 is still waiting; "R-001" means today's, a day
	// prefix reaches yesterday's.
	got, _ := c.Get("R-001")
	old, _ := c.Get("2026-11-23/R-001")
	if got.Day != "2026-11-24" || old.Day != "2026-11-23" {
		t.Errorf("R-001 → %s, 2026-11-23/R-001 → %s", got.Day, old.Day)
	}
	if len(c.Open()) != 3 {
		t.Errorf("open %d, want 3", len(c.Open()))
	}
	// A clock set back before midnight does not reuse a number.
	if tk := flag(c, next.Add(-time.Hour), 37.5); tk != "R-002" {
		t.Errorf("clock set back: %s, want R-002", tk)
	}
}

func TestRecheckLaneResolvesOldestOrSelected(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	var changes []event.Case
	c := casesAt(t, &caseLog{}, &now, &changes)
	first := flag(c, now, 37.5)
	second := flag(c, now.Add(time.Minute), 37.6)
	third := flag(c, now.Add(2*time.Minute), 37.7)
	lane := func(bodyC float64, v Verdict) {
		m := Measurement{Lane: 2, Verdict: v, BodyC: bodyC, Wall: now.UnixNano()}
		if !c.Wants(&m) {
			t.Fatal("cases ignore the re-check lane")
		}
		c.Consume(&m)
	}
	lane(36.6, VerdictPass)
	if got, _ := c.Get(first); got.State != event.CaseCleared || got.Actor != "lane:R" || *got.RecheckC != 36.6 {
		t.Errorf("oldest after a lane pass: %+v", got)
	}
	if err := c.Select(third); err != nil {
		t.Fatal(err)
	}
	lane(38.2, VerdictFlag)
	if got, _ := c.Get(third); got.State != event.CaseConfirmed {
		t.Errorf("selected after a lane flag: %+v", got)
	}
	lane(36.9, VerdictPass) // the selection is used up: the oldest again
	if got, _ := c.Get(second); got.State != event.CaseCleared {
		t.Errorf("second: %+v", got)
	}
	// Retakes and invalid readings on the re-check lane resolve nothing.
	if c.Wants(&Measurement{Lane: 2, Verdict: VerdictRetake}) || c.Wants(&Measurement{Lane: 0, Verdict: VerdictPass}) {
		t.Error("cases want a retake or a student-lane pass")
	}
}

func TestOverdue(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	var changes []event.Case
	c := casesAt(t, &caseLog{}, &now, &changes)
	old := flag(c, now, 37.5)
	flag(c, now.Add(5*time.Minute), 37.5)
	over := c.Overdue(now.Add(10*time.Minute + time.Second))
	if len(over) != 1 || over[0].Ticket != old {
		t.Errorf("overdue = %+v, want only %s", over, old)
	}
	cs, _ := c.Get(old)
	if c.IsOverdue(cs, now.Add(9*time.Minute)) {
		t.Error("overdue after 9 minutes")
	}
}

func TestCasesConcurrentUse(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	var changes []event.Case
	var mu sync.Mutex
	c, err := NewCases(CaseOpts{Store: &caseLog{}, Lanes: gate().Lanes, Location: cst,
		Now: func() time.Time { return now }, OnChange: func(cs event.Case) { mu.Lock(); changes = append(changes, cs); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	var tickets []string
	for i := range 40 {
		tickets = append(tickets, flag(c, now.Add(time.Duration(i)*time.Second), 37.5))
	}
	var wg sync.WaitGroup
	for i, tk := range tickets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Recheck(tk, 36.0+float64(i%3), fmt.Sprint("doctor", i))
			c.Open()
			c.awaitingByLane()
		}()
	}
	wg.Wait()
	if n := len(c.Open()); n == 0 || n == 40 {
		t.Errorf("open after concurrent re-checks: %d", n)
	}
}

// The case desk refuses to guess the school's timezone from the machine's.
func TestCasesNeedTheSchoolsTimezone(t *testing.T) {
	if _, err := NewCases(CaseOpts{Store: &caseLog{}, Lanes: gate().Lanes}); err == nil {
		t.Fatal("NewCases without a Location: no error")
	}
}

// #20 item 1–2: a case goes out as the district reads it: flag_c to
// 0.01 °C (a plateau's mean gave 38.623333333333335) and opened_at in the
// wire's one time format (it was Unix nanoseconds while the docs showed
// seconds). The stored body is what the uplink splices.
func TestCaseBodyOnTheWire(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 123e6, cst)
	store := &caseLog{}
	var changes []event.Case
	c := casesAt(t, store, &now, &changes)
	flag(c, now, 38.623333333333335)
	store.mu.Lock()
	body := string(store.events[len(store.events)-1].Body)
	store.mu.Unlock()
	for _, want := range []string{`"flag_c":38.62,`, `"opened_at":"2026-11-22T23:10:00.123Z"`} {
		if !strings.Contains(body, want) {
			t.Errorf("stored case body %s lacks %s", body, want)
		}
	}
	if _, err := c.Recheck("R-001", 38.4166666666, "doctor"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get("R-001"); *got.RecheckC != 38.42 {
		t.Errorf("recheck_c %v, want 38.42", *got.RecheckC)
	}
}

// With LateRestore (the daemon's store still being checked) a flag's ticket
// waits for Restore, so it continues the day's numbering instead of
// reusing a ticket the store already holds (issue #17).
func TestLateRestoreTicketWaitsForTheStore(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 30, 0, 0, cst)
	store := &caseLog{}
	var changes []event.Case
	before := casesAt(t, store, &now, &changes)
	flag(before, now, 38.1) // stored before the restart
	flag(before, now, 38.2)
	c, err := NewCases(CaseOpts{Store: store, Lanes: gate().Lanes, Location: cst, Clock: fixedClock{},
		Now: func() time.Time { return now }, Logger: zerolog.Nop(), LateRestore: true})
	if err != nil {
		t.Fatal(err)
	}
	drawn := make(chan string, 1)
	go func() { drawn <- flag(c, now, 38.4) }()
	select {
	case tk := <-drawn:
		t.Fatalf("ticket %s drawn before the store's cases were restored", tk)
	case <-time.After(50 * time.Millisecond):
	}
	if err := c.Restore(); err != nil {
		t.Fatal(err)
	}
	if tk := <-drawn; tk != "R-003" {
		t.Fatalf("first ticket after the restart %s, want R-003", tk)
	}
	if got := len(c.Open()); got != 3 {
		t.Fatalf("%d open cases, want 3", got)
	}
}
