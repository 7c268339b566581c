package runner

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestBackoffIsCappedAndJittered(t *testing.T) {
	minD, maxD := 200*time.Millisecond, 30*time.Second
	for n := range 70 {
		full := maxD
		if n < 8 { // 200ms·2⁷ = 25.6s is the last step below the cap
			full = minD << n
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := backoff(n, minD, maxD)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Fatalf("attempt %d: no jitter", n)
		}
	}
}

func TestLogLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := logLimiter{every: 10 * time.Second, now: func() time.Time { return now }}
	step := func(msg string, d time.Duration, wantOK bool, wantHeld int) {
		t.Helper()
		now = now.Add(d)
		ok, held := l.allow(msg)
		if ok != wantOK || held != wantHeld {
			t.Fatalf("%q after %v: got %v/%d, want %v/%d", msg, d, ok, held, wantOK, wantHeld)
		}
	}
	step("EIO", 0, true, 0)
	step("EIO", time.Second, false, 0)
	step("EIO", time.Second, false, 0)
	step("EIO", 8*time.Second, true, 2)
	step("EIO", time.Second, false, 0)
	step("EBUSY", 0, true, 0) // a different error is logged at once
	step("EBUSY", time.Second, false, 0)
}

func TestSystemStampFollowsMonotonicClock(t *testing.T) {
	stamp := systemStamp()
	m1, w1 := stamp()
	time.Sleep(2 * time.Millisecond)
	m2, w2 := stamp()
	if m2-m1 < int64(2*time.Millisecond) || w2 <= w1 {
		t.Fatalf("stamps %d,%d then %d,%d do not advance", m1, w1, m2, w2)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	if d := ts.Nano() - m2; d < 0 || d > int64(time.Second) {
		t.Fatalf("stamp %d is %v away from CLOCK_MONOTONIC %d", m2, time.Duration(d), ts.Nano())
	}
}
