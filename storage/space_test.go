package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

func appendFlushed(t *testing.T, s *Store, evs ...event.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestMaxSizePurgesUploadedThenGaps(t *testing.T) {
	const maxSize = 1 << 20
	var health healthLog
	path := tempPath(t)
	s := openStore(t, path, Opts{MaxSize: maxSize, OnHealth: health.add, CommitEvents: 64})

	day := "2026-11-23"
	var keep []uint64 // cases, flags and health: never purged before upload
	for i, ticket := range []string{"R-001", "R-002", "R-003"} {
		appendFlushed(t, s,
			reading(t, "L1", event.VerdictFlag, t0),
			mustEvent(t, event.KindCase, event.Case{Ticket: ticket, Day: day, Lane: "L1", State: event.CaseAwaitingRecheck, Actor: "lane:L1"}, t0),
			mustEvent(t, event.KindHealth, event.Health{Component: "device", Device: "gun-1", State: event.HealthUp}, t0))
		keep = append(keep, uint64(3*i+1), uint64(3*i+2), uint64(3*i+3))
	}
	// 1000 readings the district acknowledged, then more that it did not.
	var acked []uint64
	for range 10 {
		var batch []event.Event
		for range 100 {
			batch = append(batch, reading(t, "L2", event.VerdictPass, t0))
		}
		appendFlushed(t, s, batch...)
	}
	pend, err := s.Pending(Bulk, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range pend {
		acked = append(acked, ev.Seq)
	}
	if err := s.Ack(acked...); err != nil {
		t.Fatal(err)
	}
	firstUnacked := acked[len(acked)-1] + 1

	gaps := func() []event.Gap {
		prio, err := s.Pending(Priority, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []event.Gap
		for _, ev := range prio {
			if ev.Kind == event.KindGap {
				out = append(out, decodeBody[event.Gap](t, ev))
			}
		}
		return out
	}
	var rounds int
	for ; len(gaps()) == 0; rounds++ {
		if rounds > 400 {
			t.Fatalf("no gap after %d readings; file %d bytes", rounds*50, s.Size())
		}
		var batch []event.Event
		for range 50 {
			batch = append(batch, reading(t, "L3", event.VerdictPass, t0))
		}
		appendFlushed(t, s, batch...)
	}

	stored := allSeqs(t, s)
	for _, seq := range acked {
		if _, ok := stored[seq]; ok {
			t.Fatalf("acknowledged seq %d still stored after the first gap: uploaded events must go first", seq)
		}
	}
	g := gaps()[0]
	t.Logf("first gap %+v after %d more readings; file %d bytes", g, rounds*50, s.Size())
	if g.FromSeq != firstUnacked || g.ToSeq < g.FromSeq || g.Count == 0 || g.Reason != "max_size" {
		t.Errorf("gap = %+v, want it to start at the oldest un-uploaded reading %d", g, firstUnacked)
	}
	for seq := g.FromSeq; seq <= g.ToSeq; seq++ {
		if _, ok := stored[seq]; ok {
			t.Errorf("seq %d inside the gap is still stored", seq)
		}
	}

	// Keep writing past several more gaps: urgent events still survive.
	for range 100 {
		var batch []event.Event
		for range 50 {
			batch = append(batch, reading(t, "L3", event.VerdictPass, t0))
		}
		appendFlushed(t, s, batch...)
	}
	stored = allSeqs(t, s)
	for _, seq := range keep {
		if ev, ok := stored[seq]; !ok || !ev.Urgent {
			t.Errorf("urgent seq %d purged before upload", seq)
		}
	}
	if cases, err := s.CasesOn(day); err != nil || len(cases) != 3 {
		t.Errorf("CasesOn = %d cases, %v; want 3", len(cases), err)
	}
	if len(gaps()) < 2 {
		t.Errorf("gaps = %+v, want more than one after writing on", gaps())
	}
	if size := s.Size(); size > maxSize {
		t.Errorf("file is %d bytes, over MaxSize %d", size, maxSize)
	}
	var nearFull, gapReported bool
	for _, h := range health.all() {
		nearFull = nearFull || h.Reason == "near full"
		gapReported = gapReported || strings.HasPrefix(h.Reason, "gap:")
	}
	if !nearFull || !gapReported {
		t.Errorf("OnHealth = %+v, want near full and gap reports", health.all())
	}
	p, b := s.OutboxLen()
	prio, _ := s.Pending(Priority, 0, 100000)
	bulk, _ := s.Pending(Bulk, 0, 100000)
	if p != len(prio) || b != len(bulk) {
		t.Errorf("OutboxLen = %d, %d; queues hold %d, %d", p, b, len(prio), len(bulk))
	}
}

func TestRetentionPurgesOnlyAckedAfterRetention(t *testing.T) {
	clock := &fakeClock{now: t0}
	s := openStore(t, tempPath(t), Opts{Now: clock.Now, Retention: 24 * time.Hour, MaintenanceInterval: 5 * time.Millisecond})
	var evs []event.Event
	for range 10 {
		evs = append(evs, reading(t, "L1", event.VerdictPass, t0))
	}
	appendFlushed(t, s, evs...)
	if err := s.Ack(1, 2, 3); err != nil {
		t.Fatal(err)
	}
	clock.Add(23 * time.Hour)
	if err := s.Ack(4); err != nil { // acked later: kept longer
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // several maintenance rounds
	if n := len(allSeqs(t, s)); n != 10 {
		t.Fatalf("%d events before retention passed, want 10", n)
	}
	clock.Add(2 * time.Hour)
	waitFor(t, "retention purge", func() bool { return len(allSeqs(t, s)) == 7 })
	got := allSeqs(t, s)
	for _, seq := range []uint64{1, 2, 3} {
		if _, ok := got[seq]; ok {
			t.Errorf("seq %d acked 25 h ago still stored", seq)
		}
	}
	if _, ok := got[4]; !ok {
		t.Error("seq 4 acked 2 h ago was purged")
	}
}

// An event bigger than the store could ever hold is refused alone: its seq
// goes into a gap the district receives, and the store goes on.
func TestOversizedEventIsRefusedWithAGap(t *testing.T) {
	var health healthLog
	s := openStore(t, tempPath(t), Opts{MaxSize: 1 << 20, OnHealth: health.add})
	var evs []event.Event
	for range 100 {
		evs = append(evs, reading(t, "L1", event.VerdictPass, t0))
	}
	appendFlushed(t, s, evs...)

	huge := reading(t, "L1", event.VerdictInvalid, t0)
	huge.Body = []byte(`{"frame_hex":"` + strings.Repeat("ab", 1<<20) + `"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if seq, err := s.AppendWait(ctx, huge); !errors.Is(err, ErrRefused) || seq != 101 {
		t.Fatalf("AppendWait(2 MiB event into a 1 MiB store) = %d, %v; want 101, ErrRefused", seq, err)
	}
	if err := s.Flush(ctx); !errors.Is(err, ErrRefused) {
		t.Errorf("Flush after a refusal = %v, want ErrRefused", err)
	}
	var reported bool
	for _, h := range health.all() {
		reported = reported || strings.HasPrefix(h.Reason, "refused 1 event")
	}
	if !reported {
		t.Errorf("OnHealth = %+v, want the refusal", health.all())
	}
	stored := allSeqs(t, s)
	if len(stored) != 101 || stored[102].Kind != event.KindGap {
		t.Fatalf("%d events stored, seq 102 %v; want the 100 readings and a gap", len(stored), stored[102].Kind)
	}
	if g := decodeBody[event.Gap](t, stored[102]); g.FromSeq != 101 || g.ToSeq != 101 || g.Count != 1 || g.Reason != refusedTooLarge {
		t.Errorf("gap = %+v, want seq 101 too_large", g)
	}
	if seq, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictFlag, t0)); err != nil || seq != 103 {
		t.Errorf("AppendWait after the refusal = %d, %v; want 103", seq, err)
	}
}

func TestRetentionSurvivesAClockAt1970(t *testing.T) {
	path := tempPath(t)
	clock := &fakeClock{now: t0}
	s, err := Open(path, Opts{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	for range 4 {
		evs = append(evs, reading(t, "L1", event.VerdictPass, t0))
	}
	appendFlushed(t, s, evs...)
	if err := s.Ack(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Power cut, no RTC: the box boots at 1970.
	clock.Add(-t0.Sub(time.Unix(300, 0)))
	s = openStore(t, path, Opts{Now: clock.Now, Retention: 24 * time.Hour, MaintenanceInterval: 5 * time.Millisecond})
	if err := s.Ack(3); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(allSeqs(t, s)); n != 4 {
		t.Fatalf("%d events left while the clock reads 1970, want 4", n)
	}
	// NTP syncs an hour after the acks: nothing has passed retention yet,
	// including seq 3, which was acked while the clock read 1970.
	clock.Add(t0.Add(time.Hour).Sub(clock.Now()))
	time.Sleep(50 * time.Millisecond)
	if n := len(allSeqs(t, s)); n != 4 {
		t.Fatalf("%d events left an hour after the acks, want 4", n)
	}
	clock.Add(24 * time.Hour)
	waitFor(t, "retention purge", func() bool { return len(allSeqs(t, s)) == 1 })
	if _, ok := allSeqs(t, s)[4]; !ok {
		t.Error("the un-acked seq 4 was purged")
	}
}

// gapsIn returns the gap events stored in s.
func gapsIn(t *testing.T, s *Store) []event.Gap {
	t.Helper()
	var out []event.Gap
	for _, ev := range allSeqs(t, s) {
		if ev.Kind == event.KindGap {
			out = append(out, decodeBody[event.Gap](t, ev))
		}
	}
	return out
}

// Readings the broker acknowledged, whose acknowledgement still waits for
// the writer's next commit, are delivered: a purge may drop them, but never
// as a gap ("purged before upload"), and the outbox count must not lose
// them twice. The purge runs before the commit that carries the acks.
func TestPurgeKeepsDeliveredReadingsOutOfGaps(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{MaxSize: 1 << 20, CommitInterval: time.Hour, CommitEvents: 1 << 20})
	fill := func(n int) {
		var batch []event.Event
		for range n {
			batch = append(batch, reading(t, "L1", event.VerdictPass, t0))
		}
		appendFlushed(t, s, batch...)
	}
	for len(gapsIn(t, s)) == 0 {
		if s.Durable() > 20000 {
			t.Fatalf("no gap after %d readings", s.Durable())
		}
		fill(50)
	}
	before := len(gapsIn(t, s))
	pend, err := s.Pending(Bulk, 0, 400)
	if err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]bool{}
	for _, ev := range pend {
		acked[ev.Seq] = true
		if err := s.Ack(ev.Seq); err != nil {
			t.Fatal(err)
		}
	}
	// One commit big enough to purge at once, with the acks riding in it.
	fill(1000)
	gaps := gapsIn(t, s)
	if len(gaps) == before {
		t.Fatal("no purge after the acks; the test did not exercise them")
	}
	var falseGaps int
	for _, g := range gaps {
		for seq := g.FromSeq; seq <= g.ToSeq; seq++ {
			if acked[seq] {
				falseGaps++
			}
		}
	}
	if falseGaps > 0 {
		t.Errorf("gaps %+v claim %d seqs the broker acknowledged", gaps, falseGaps)
	}
	p, b := s.OutboxLen()
	if sp, sb := outboxScan(t, s); p != sp || b != sb {
		t.Errorf("OutboxLen = %d, %d; scan of the outbox %d, %d", p, b, sp, sb)
	}
}

// A store full of urgent events (the broker down for long, many flags and
// cases) purges none of them: new normal readings are refused instead, each
// counted in a store_full gap the district receives, never dropped in
// silence.
func TestFullOfUrgentEventsRefusesReadings(t *testing.T) {
	var health healthLog
	s := openStore(t, tempPath(t), Opts{MaxSize: 1 << 20, OnHealth: health.add})
	full := func() bool {
		for _, h := range health.all() {
			if h.Reason == "full: only urgent events left" {
				return true
			}
		}
		return false
	}
	urgent := 0
	for !full() {
		if urgent > 20000 {
			t.Fatalf("not full after %d urgent events; file %d bytes", urgent, s.Size())
		}
		var batch []event.Event
		for range 20 {
			batch = append(batch, reading(t, "L1", event.VerdictFlag, t0))
		}
		appendFlushed(t, s, batch...)
		urgent += len(batch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	refused := 0
	for range 30 {
		for range 50 {
			if err := s.Append(reading(t, "L2", event.VerdictPass, t0)); err != nil {
				t.Fatal(err)
			}
			refused++
		}
		if err := s.Flush(ctx); !errors.Is(err, ErrRefused) {
			t.Fatalf("Flush of normal readings into a store full of urgent events = %v, want ErrRefused", err)
		}
	}
	if _, err := s.AppendWait(ctx, reading(t, "L2", event.VerdictPass, t0)); !errors.Is(err, ErrRefused) {
		t.Errorf("AppendWait of a normal reading = %v, want ErrRefused", err)
	}
	refused++

	stored := allSeqs(t, s)
	flags, normal := 0, 0
	var gapped uint64
	for _, ev := range stored {
		switch {
		case ev.Kind == event.KindReading && ev.Urgent:
			flags++
		case ev.Kind == event.KindReading:
			normal++
		case ev.Kind == event.KindGap:
			if g := decodeBody[event.Gap](t, ev); g.Reason == refusedFull {
				gapped += g.Count
			}
		}
	}
	if flags != urgent {
		t.Errorf("%d of %d flagged readings stored: urgent events were purged", flags, urgent)
	}
	if normal != 0 || gapped != uint64(refused) {
		t.Errorf("normal readings: %d stored, %d in store_full gaps; want 0 and %d", normal, gapped, refused)
	}
	p, b := s.OutboxLen()
	if sp, sb := outboxScan(t, s); p != sp || b != sb {
		t.Errorf("OutboxLen = %d, %d; scan %d, %d", p, b, sp, sb)
	}
	if size := s.Size(); size > 1<<20 {
		t.Errorf("file %d bytes, over MaxSize", size)
	}
}
