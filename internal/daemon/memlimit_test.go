package daemon

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/rs/zerolog"
)

func TestLimitMemory(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	t.Setenv("GOMEMLIMIT", "64MiB") // the operator's choice, read by the runtime at start
	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory(zerolog.Nop())
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set the daemon changed the limit to %d", got)
	}

	os.Unsetenv("GOMEMLIMIT") // t.Setenv restores it at cleanup
	limitMemory(zerolog.Nop())
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit {
		t.Fatalf("without GOMEMLIMIT the limit is %d, want %d", got, defaultMemoryLimit)
	}
}
