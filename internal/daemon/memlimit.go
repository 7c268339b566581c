package daemon

import (
	"os"
	"runtime/debug"

	"github.com/rs/zerolog"
)

// defaultMemoryLimit is the Go runtime's soft memory limit (heap, stacks,
// runtime) when GOMEMLIMIT is not set. The daemon's live heap is about
// 8 MiB with a 100,000-event backlog; left to GOGC alone, the heap of a
// backlog drain grew to 37 MiB of garbage between collections. At 24 MiB
// the collector ran so often that it delayed lamps (frame→lamp p99 with a
// stalled SD card 1.5–2.0× normal, against 1.0× at 32 MiB; BENCHMARKS.md).
// Past the limit the collector runs more often, never more than about half
// a core (Go's limiter), so a heap that truly needs more still gets it.
const defaultMemoryLimit = 32 << 20

// limitMemory applies defaultMemoryLimit unless GOMEMLIMIT chose one.
func limitMemory(log zerolog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
	log.Debug().Int64("bytes", defaultMemoryLimit).Msg("soft memory limit (GOMEMLIMIT overrides)")
}
