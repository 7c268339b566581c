package daemon

import (
	"time"

	"github.com/gatescreen/gatescreen/internal/metrics"
)

// buildMetrics makes the /metrics registry over the gate's parts, read
// when scraped: the pipeline and the screen may not exist yet.
func (g *gate) buildMetrics() (*metrics.Registry, error) {
	o := g.o
	return metrics.New(metrics.Opts{
		Lanes:       g.lanes,
		Version:     o.Version,
		Revision:    o.Revision,
		StoreSize:   g.store.Size,
		OutboxDepth: g.store.OutboxLen,
		Uplink:      g.uplinkFigures,
		DeviceFrames: func() map[string]map[string]uint64 {
			if g.pipe == nil {
				return nil
			}
			out := map[string]map[string]uint64{}
			for i, d := range g.pipe.Stats().Devices {
				by := map[string]uint64{"valid": d.Readings - d.Invalid}
				for reason, n := range d.InvalidBy {
					by[reason] = n
				}
				// What the driver lost never reached the pipeline.
				if i < len(g.lost) {
					lost := g.lost[i].Counts()
					if lost.Dropped > 0 {
						by["dropped"] = lost.Dropped
					}
					if lost.Timeouts > 0 {
						by["timeout"] = lost.Timeouts
					}
				}
				out[d.Name] = by
			}
			return out
		},
		OldestPending: func() (time.Time, bool) {
			t, ok, err := g.store.OldestPending()
			return t, ok && err == nil
		},
		ClockSynced: g.clk.Synced,
		StoreRoom: func() (int64, int64) {
			a, f, _ := g.store.Room()
			return a, f
		},
		MaxStoreSize: int64(g.cfg.Storage.MaxSize),
		RingOverflows: func() map[string]uint64 {
			if g.pipe == nil {
				return nil
			}
			over := g.pipe.Stats().Overflows
			if g.scr != nil {
				over["screen_sse"] = g.scr.Dropped()
			}
			return over
		},
		UnknownCards: func() uint64 {
			if g.pipe == nil {
				return 0
			}
			return g.pipe.Stats().UnknownCards
		},
		DeviceAlarms: func() map[string]uint64 {
			if g.pipe == nil {
				return nil
			}
			out := map[string]uint64{}
			for _, d := range g.pipe.Stats().Devices {
				out[d.Name] = d.DeviceAlarms
			}
			return out
		},
	})
}
