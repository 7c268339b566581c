package uplink

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/gatescreen/gatescreen/event"
)

// memOutbox is an in-memory Outbox with the store's semantics: a persisted
// sequence shared by both queues, events in sequence order, Ack removes.
type memOutbox struct {
	mu      sync.Mutex
	nextSeq uint64
	queues  [2][]event.Event // append-only, in seq order
	acked   map[uint64]int   // seq → times acked
	notify  chan struct{}
}

func newMemOutbox() *memOutbox {
	return &memOutbox{acked: map[uint64]int{}, notify: make(chan struct{}, 1)}
}

// readingBody is a typical reading as the pipeline stores it.
const readingBody = `{"lane":"lane-1","role":"student","device":"gate-1","raw_c":35.9,"ambient_c":22.5,"body_c":36.6,"verdict":"pass","mode":"skin","offset_c":0.7,"threshold_c":37.3,"round":"morning","n":%d}`

// add stores n events of kind k in queue q and returns their seqs.
func (m *memOutbox) add(q Queue, k event.Kind, n int) []uint64 {
	m.mu.Lock()
	seqs := make([]uint64, 0, n)
	for range n {
		m.nextSeq++
		m.queues[q] = append(m.queues[q], event.Event{Seq: m.nextSeq, Kind: k, BootID: "b", Mono: 1,
			Wall: 1_795_417_925e9, ClockSynced: true, Body: fmt.Appendf(nil, readingBody, m.nextSeq)})
		seqs = append(seqs, m.nextSeq)
	}
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
	return seqs
}

// Visit lends each event as the store does: a copy that is overwritten
// once fn returns, so an uplink that kept it would send garbage.
func (m *memOutbox) Visit(q Queue, after uint64, max int, fn func(*event.Event) error) error {
	for _, ev := range m.pending(q, after, max) {
		lent := ev
		lent.Body = bytes.Clone(ev.Body)
		err := fn(&lent)
		for i := range lent.Body {
			lent.Body[i] = 'X'
		}
		lent = event.Event{}
		if err != nil {
			return err
		}
	}
	return nil
}

// pending returns up to max un-acked events of q after seq after.
func (m *memOutbox) pending(q Queue, after uint64, max int) []event.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := m.queues[q]
	var out []event.Event
	for i := sort.Search(len(evs), func(i int) bool { return evs[i].Seq > after }); i < len(evs) && len(out) < max; i++ {
		if m.acked[evs[i].Seq] == 0 {
			out = append(out, evs[i])
		}
	}
	return out
}

func (m *memOutbox) Ack(seqs ...uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range seqs {
		m.acked[s]++
	}
	return nil
}

func (m *memOutbox) Notify() <-chan struct{} { return m.notify }

// len returns the number of un-acked events.
func (m *memOutbox) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queues[Priority]) + len(m.queues[Bulk]) - len(m.acked)
}

func (m *memOutbox) ackedSet() map[uint64]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[uint64]int, len(m.acked))
	for k, v := range m.acked {
		out[k] = v
	}
	return out
}

// The events an outbox lends are copied into the payloads while they are
// lent: memOutbox scribbles over each body once the visit moves on, as the
// store's pages are reused once its transaction ends.
func TestLentEventsAreCopiedIntoPayloads(t *testing.T) {
	ob := newMemOutbox()
	ob.add(Bulk, event.KindReading, 3)
	ob.add(Bulk, event.KindHealth, 1)
	ob.add(Bulk, event.KindReading, 2)
	u := newUplink(t, ob, testOpts("tcp://127.0.0.1:1"))
	want := u.group(ob.pending(Bulk, 0, 100))
	b := u.newBatcher()
	if err := ob.Visit(Bulk, 0, 100, b.add); err != nil {
		t.Fatal(err)
	}
	got := b.finish()
	if len(got) != len(want) || len(got) != 3 {
		t.Fatalf("%d messages, want %d (3)", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].payload, want[i].payload) || bytes.Contains(got[i].payload, []byte("XXXX")) {
			t.Errorf("message %d:\n got %s\nwant %s", i, got[i].payload, want[i].payload)
		}
	}
	if b.last != 6 {
		t.Errorf("last seq %d, want 6", b.last)
	}
}
