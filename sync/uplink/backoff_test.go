package uplink

import (
	"testing"
	"time"
)

func TestBackoffDoublesJittersAndCaps(t *testing.T) {
	b := newBackoff(time.Second, 8*time.Second)
	for i, ceiling := range []time.Duration{1, 2, 4, 8, 8, 8} {
		ceiling *= time.Second
		d := b.next()
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, ceiling/2, ceiling)
		}
	}
	b.reset()
	if d := b.next(); d > time.Second {
		t.Fatalf("after reset wait %v > 1s", d)
	}
	// Jitter: 200 draws from [4s, 8s] are not all the same.
	b = newBackoff(8*time.Second, 8*time.Second)
	first := b.next()
	for range 200 {
		if b.next() != first {
			return
		}
	}
	t.Fatal("backoff has no jitter")
}
