package daemon

import (
	"sync"

	"github.com/gatescreen/gatescreen/event"
	"github.com/rs/zerolog"
)

// healthHub fans health events out to the log, the screen, the metrics and
// the store (which uploads them on the health topic). The last few events
// are replayed to a consumer attached late, so the screen shows a store
// quarantined at open.
const maxRecent = 32

type healthHub struct {
	mu     sync.Mutex
	log    zerolog.Logger
	sinks  []func(event.Health)
	recent []event.Health     // the last maxRecent events
	stored func(event.Health) // appends to the store; nil until it is open
}

func (h *healthHub) attach(fn func(event.Health)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sinks = append(h.sinks, fn)
	for _, e := range h.recent {
		fn(e)
	}
}

func (h *healthHub) attachStore(fn func(event.Health)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stored = fn
}

// report handles a health change of a component other than the store.
func (h *healthHub) report(e event.Health) {
	h.fanOut(e, true)
}

// reportFromStore handles the store's own health events: the store stores
// them itself (a write error once the disk takes writes again), or the gap
// or quarantine event that records them.
func (h *healthHub) reportFromStore(e event.Health) {
	h.fanOut(e, false)
}

func (h *healthHub) fanOut(e event.Health, store bool) {
	if e.Component != "device" { // device runners log their own changes
		h.logHealth(e)
	}

	h.mu.Lock()
	sinks, stored := h.sinks, h.stored
	if len(h.recent) == maxRecent {
		h.recent = append(h.recent[:0], h.recent[1:]...)
	}
	h.recent = append(h.recent, e)
	h.mu.Unlock()
	for _, fn := range sinks {
		fn(e)
	}
	if store && stored != nil {
		stored(e)
	}
}

func (h *healthHub) logHealth(e event.Health) {
	lvl := h.log.Info()
	switch e.State {
	case event.HealthDown:
		lvl = h.log.Error()
	case event.HealthDegraded, event.HealthWarning:
		lvl = h.log.Warn()
	}
	lvl.Str("of", e.Component).Str("device", e.Device).Str("state", e.State).
		Str("reason", e.Reason).Uint64("count", e.Count).Msg("health")
}
