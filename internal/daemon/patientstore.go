package daemon

import (
	"errors"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
)

// patientStore waits while the store's writer queue is full instead of
// dropping the event: it runs on a sink's own goroutine, whose ring absorbs
// the wait (and counts an overflow if the card stalls for long), never on
// the lamp path.
type patientStore struct{ *storage.Store }

func (p patientStore) Append(ev event.Event) error {
	for {
		err := p.Store.Append(ev)
		if !errors.Is(err, storage.ErrBusy) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}
