package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// journal records the order of starts and stops.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) note(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, s)
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

func (j *journal) add(lc *lifecycle, name string) {
	lc.add(name, func() error { j.note("start " + name); return nil }, func() { j.note("stop " + name) })
}

// Parts start in the order added and stop in the reverse order once the
// context ends; a clean shutdown is no error.
func TestLifecycleStartsInOrderStopsInReverse(t *testing.T) {
	var j journal
	lc := newLifecycle(zerolog.Nop())
	for _, n := range []string{"store", "pipeline", "devices"} {
		j.add(lc, n)
	}
	lc.add("nothing to start or stop", nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := lc.run(ctx); err != nil {
		t.Fatalf("a clean shutdown returned %v", err)
	}
	want := []string{"start store", "start pipeline", "start devices", "stop devices", "stop pipeline", "stop store"}
	if got := j.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// A start that fails stops the parts started before it, in reverse, and
// its error is returned; the parts after it never start.
func TestLifecycleFailedStartStopsWhatStarted(t *testing.T) {
	var j journal
	lc := newLifecycle(zerolog.Nop())
	j.add(lc, "store")
	j.add(lc, "pipeline")
	boom := errors.New("address in use")
	lc.add("screen", func() error { return boom }, func() { j.note("stop screen") })
	j.add(lc, "devices")
	if err := lc.run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("run returned %v, want %v", err, boom)
	}
	want := []string{"start store", "start pipeline", "stop pipeline", "stop store"}
	if got := j.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// A part that fails while running ends the run: the first failure wins,
// every part stops, and cancellation is not counted as a failure.
func TestLifecycleFirstFailureWins(t *testing.T) {
	var j journal
	lc := newLifecycle(zerolog.Nop())
	j.add(lc, "store")
	first := errors.New("screen: listener closed")
	lc.add("failing", func() error {
		lc.fail(nil)
		lc.fail(context.Canceled)
		lc.fail(fmt.Errorf("stopped: %w", context.Canceled))
		lc.fail(first)
		lc.fail(errors.New("second"))
		return nil
	}, nil)
	j.add(lc, "devices")
	done := make(chan error, 1)
	go func() { done <- lc.run(context.Background()) }()
	select {
	case err := <-done:
		if err != first {
			t.Fatalf("run returned %v, want the first failure %v", err, first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a failure did not end the run")
	}
	want := []string{"start store", "start devices", "stop devices", "stop store"}
	if got := j.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// Routines share one context: stop cancels it and returns only once every
// one of them has returned.
func TestRoutinesStopWaitsForAll(t *testing.T) {
	r := newRoutines()
	var mu sync.Mutex
	returned := 0
	for range 3 {
		r.spawn(func(ctx context.Context) {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			mu.Lock()
			returned++
			mu.Unlock()
		})
	}
	r.stop()
	mu.Lock()
	defer mu.Unlock()
	if returned != 3 {
		t.Fatalf("stop returned with %d of 3 routines done", returned)
	}
}
