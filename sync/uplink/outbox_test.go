package uplink

import (
	"fmt"
	"sort"
	"sync"

	"github.com/gatescreen/gatescreen/event"
)

// memOutbox is an in-memory Outbox with the store's semantics.
type memOutbox struct {
	mu      sync.Mutex
	nextSeq uint64
	pending [2]map[uint64]event.Event
	acked   map[uint64]int // seq → times acked
	notify  chan struct{}
	// ackErr, when set, fails Ack.
	ackErr error
}

func newMemOutbox() *memOutbox {
	return &memOutbox{
		pending: [2]map[uint64]event.Event{{}, {}},
		acked:   map[uint64]int{},
		notify:  make(chan struct{}, 1),
	}
}

// add stores events of kind k in queue q and returns their seqs.
func (m *memOutbox) add(q Queue, k event.Kind, n int) []uint64 {
	m.mu.Lock()
	seqs := make([]uint64, 0, n)
	for range n {
		m.nextSeq++
		body := fmt.Sprintf(`{"lane":"lane-1","device":"sim","verdict":"pass","body_c":36.5,"threshold_c":37.3,"n":%d}`, m.nextSeq)
		m.pending[q][m.nextSeq] = event.Event{Seq: m.nextSeq, Kind: k, BootID: "b", Mono: 1, Wall: 1, ClockSynced: true, Body: []byte(body)}
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
	var out []event.Event
	for seq, ev := range m.pending[q] {
		if seq > after {
			out = append(out, ev)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func (m *memOutbox) Ack(seqs ...uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ackErr != nil {
		return m.ackErr
	}
	for _, s := range seqs {
		delete(m.pending[Priority], s)
		delete(m.pending[Bulk], s)
		m.acked[s]++
	}
	return nil
}

func (m *memOutbox) Notify() <-chan struct{} { return m.notify }

// len returns the number of un-acked events.
func (m *memOutbox) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending[Priority]) + len(m.pending[Bulk])
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
