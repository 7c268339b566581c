//go:build testhooks

package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/internal/daemon"
	"github.com/gatescreen/gatescreen/internal/logging"
	"github.com/gatescreen/gatescreen/sync/clock"
)

// envTestClock is a test hook of `gatescreen run` and `gatescreen demo`,
// used by the end-to-end suite (e2e/clock_test.go) and the demo test, and
// never set in production: it names a file holding a Go duration added to
// the wall clock. While the offset is not zero the clock reports itself
// unsynchronised; rewriting the file to "0s" is NTP stepping the clock right
// and synchronising it. The companion commands read the offset once, so
// their "today" is the daemon's.
const envTestClock = "GATESCREEN_TEST_CLOCK_FILE"

// testClockPoll is how often the hook rereads its file and the clock its
// sync state: the test waits for both.
const testClockPoll = 100 * time.Millisecond

// testClock installs the injected clock when envTestClock is set. The
// returned stop ends its file watcher; call it after the daemon returned.
func testClock(o *daemon.Opts) (stop func(), err error) {
	path := os.Getenv(envTestClock)
	if path == "" {
		return func() {}, nil
	}
	var offset atomic.Int64
	read := func() error {
		d, err := readTestClock(path)
		if err != nil {
			return err
		}
		offset.Store(int64(d))
		return nil
	}
	if err := read(); err != nil {
		return func() {}, err
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(testClockPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = read() // a half-written file keeps the last offset
			}
		}
	}()
	o.Clock = clock.New(clock.Opts{
		Now:        func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
		SyncedFunc: func() bool { return offset.Load() == 0 },
		Poll:       testClockPoll,
		Logger:     logging.Component(o.Logger, "clock"),
	})
	o.Logger.Warn().Str("file", path).Msg("test hook: injected wall clock")
	return func() { close(done) }, nil
}

func readTestClock(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", envTestClock, err)
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%s: %v", errUsage, envTestClock, path, err)
	}
	return d, nil
}

// testNow is the wall clock of the companion commands: the injected one
// when envTestClock is set, as the daemon's.
func testNow() (time.Time, error) {
	path := os.Getenv(envTestClock)
	if path == "" {
		return time.Now(), nil
	}
	d, err := readTestClock(path)
	if err != nil {
		return time.Time{}, err
	}
	return time.Now().Add(d), nil
}
