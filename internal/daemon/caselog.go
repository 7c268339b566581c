package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
)

// caseLog is the store of pipeline.Cases. Cases appends a transition while
// holding the lock that the doctor's actions and the screen's look-ups take
// too, so its Append must never wait: a stalled SD card fills the store's
// queue, and the doctor would wait for the disk. Transitions wait here in
// memory, in order, and one goroutine hands them to the store as it takes
// them. The durable record may lag; what the doctor sees is Cases' memory.
type caseLog struct {
	*storage.Store // OpenCases and CasesOn, read once at start
	log            zerolog.Logger

	mu      sync.Mutex
	waiting []event.Event

	wake    chan struct{} // capacity 1: something was appended
	closing chan struct{} // closed by close: stop once nothing waits
	abort   chan struct{} // closed by close when its context ends
	done    chan struct{}
}

func newCaseLog(store *storage.Store, log zerolog.Logger) *caseLog {
	c := &caseLog{Store: store, log: log, wake: make(chan struct{}, 1),
		closing: make(chan struct{}), abort: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// Append queues ev for the store and returns at once.
func (c *caseLog) Append(ev event.Event) error {
	c.mu.Lock()
	c.waiting = append(c.waiting, ev)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *caseLog) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		n := len(c.waiting)
		var ev event.Event
		if n > 0 {
			ev = c.waiting[0]
		}
		c.mu.Unlock()
		if n == 0 {
			select {
			case <-c.wake:
				continue
			case <-c.closing:
				return
			}
		}
		switch err := c.Store.Append(ev); {
		case errors.Is(err, storage.ErrBusy):
			// The writer's queue is full; this goroutine is the one to wait.
			select {
			case <-time.After(5 * time.Millisecond):
			case <-c.abort:
				return
			}
			continue
		case err != nil:
			c.log.Error().Err(err).Msg("case transition not stored")
		}
		c.mu.Lock()
		c.waiting[0] = event.Event{}
		c.waiting = c.waiting[1:]
		c.mu.Unlock()
	}
}

// close hands what still waits to the store, until ctx ends; it is called
// after everything that changes cases has stopped, before the store closes.
func (c *caseLog) close(ctx context.Context) {
	close(c.closing)
	select {
	case <-c.done:
		return
	case <-ctx.Done():
	}
	close(c.abort)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.waiting); n > 0 {
		c.log.Error().Int("transitions", n).Msg("case transitions not stored at shutdown: the store did not take them in time")
	}
}
