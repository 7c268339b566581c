package poll

import (
	"testing"
	"time"
)

// maxPause bounds the sleep between two checks of a condition.
const maxPause = 20 * time.Millisecond

// Until calls cond until it holds and fails t once within has passed. The
// pause between calls starts at 1 ms and doubles up to 20 ms: a quick
// condition is seen at once, a slow one costs few checks.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPause)
	}
}
