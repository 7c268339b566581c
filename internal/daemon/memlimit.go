package daemon

import (
	"os"
	"runtime/debug"

	"github.com/rs/zerolog"
)

// defaultMemoryLimit is the Go runtime's soft memory limit (heap, stacks,
// runtime) when GOMEMLIMIT is not set. The daemon's live heap is about
// 8 MiB with a 100,000-event backlog; left to GOGC alone, the heap of a
// backlog drain grew to 37 MiB of garbage between collections. Past the
// limit the collector runs more often, never more than about half a core
// (Go's limiter), so a heap that truly needs more still gets it.
const defaultMemoryLimit = 24 << 20

// limitMemory applies defaultMemoryLimit unless GOMEMLIMIT chose one.
func limitMemory(log zerolog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
	log.Debug().Int64("bytes", defaultMemoryLimit).Msg("soft memory limit (GOMEMLIMIT overrides)")
}
