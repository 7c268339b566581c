package daemon

import (
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/uplink"
)

// outbox adapts the store to the uplink's view of it.
type outbox struct{ s *storage.Store }

func (o outbox) Pending(q uplink.Queue, after uint64, max int) ([]event.Event, error) {
	sq := storage.Bulk
	if q == uplink.Priority {
		sq = storage.Priority
	}
	return o.s.Pending(sq, after, max)
}
func (o outbox) Ack(seqs ...uint64) error { return o.s.Ack(seqs...) }
func (o outbox) Notify() <-chan struct{}  { return o.s.Notify() }
