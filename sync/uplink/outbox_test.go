package uplink

import (
	"fmt"
	"sort"
	"sync"

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

func (m *memOutbox) Pending(q Queue, after uint64, max int) ([]event.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := m.queues[q]
	var out []event.Event
	for i := sort.Search(len(evs), func(i int) bool { return evs[i].Seq > after }); i < len(evs) && len(out) < max; i++ {
		if m.acked[evs[i].Seq] == 0 {
			out = append(out, evs[i])
		}
	}
	return out, nil
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
