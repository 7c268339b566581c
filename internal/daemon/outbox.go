package daemon

import (
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/uplink"
)

// outbox adapts the store to the uplink's view of it.
type outbox struct{ s *storage.Store }

// Visit lends the events from the store's pages, which the uplink copies
// into its payloads (storage.VisitPending).
func (o outbox) Visit(q uplink.Queue, after uint64, max int, fn func(*event.Event) error) error {
	sq := storage.Bulk
	if q == uplink.Priority {
		sq = storage.Priority
	}
	return o.s.VisitPending(sq, after, max, fn)
}
func (o outbox) Ack(seqs ...uint64) error { return o.s.Ack(seqs...) }
func (o outbox) Notify() <-chan struct{}  { return o.s.Notify() }
