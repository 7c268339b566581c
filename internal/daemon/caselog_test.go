package daemon

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/storage"
)

// A stalled SD card (a commit that does not return) fills the store's
// queue. The doctor's actions and the screen's look-ups of cases must still
// answer at once, from memory; the durable record follows once the card
// does. Before, Cases appended under its lock through patientStore, which
// slept until the queue had room, so the doctor waited for the disk.
func TestDoctorNeverWaitsForTheDisk(t *testing.T) {
	stall, stalled := make(chan struct{}), make(chan struct{}, 1)
	var unstall sync.Once
	release := func() { unstall.Do(func() { close(stall) }) }
	store, err := storage.Open(filepath.Join(t.TempDir(), "events.db"), storage.Opts{
		QueueLen: 2,
		CommitHook: func() {
			select {
			case stalled <- struct{}{}:
			default:
			}
			<-stall
		},
		Logger: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	log := newCaseLog(store, zerolog.Nop())
	t.Cleanup(func() {
		release()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		log.close(ctx)
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	day := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	cases, err := pipeline.NewCases(pipeline.CaseOpts{
		Store:    log,
		Lanes:    []pipeline.Lane{{Name: "lane-1", Role: "student"}},
		Location: time.UTC,
		Now:      func() time.Time { return day },
	})
	if err != nil {
		t.Fatal(err)
	}

	// The card stalls in a commit; the queue behind it fills.
	if err := store.Append(health("stalled")); err != nil {
		t.Fatal(err)
	}
	<-stalled
	for store.Append(health("queued")) == nil {
	}
	opened := make(chan struct{})
	go func() {
		defer close(opened)
		cases.Consume(&pipeline.Measurement{Verdict: pipeline.VerdictFlag, Reason: pipeline.ReasonThreshold,
			BodyC: 38.2, Wall: day.UnixNano(), Mono: 1, Ticket: 1})
	}()
	within := func(what string, fn func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); fn() }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("%s waited for the stalled disk", what)
		}
	}
	within("opening the case", func() { <-opened })
	within("the screen's case list", func() {
		if open := cases.Open(); len(open) != 1 {
			t.Errorf("open cases = %+v, want R-001", open)
		}
	})
	within("the doctor's re-check", func() {
		if cs, err := cases.Recheck("R-001", 36.8, "doctor"); err != nil || cs.State != event.CaseCleared {
			t.Errorf("Recheck = %+v, %v; want cleared", cs, err)
		}
	})

	release()
	poll.Until(t, 10*time.Second, "both transitions stored", func() bool {
		stored, err := store.CasesOn("2026-11-23")
		return err == nil && len(stored) == 1 && stored[0].State == event.CaseCleared
	})
}

func health(reason string) event.Event {
	ev, err := event.New(event.KindHealth, event.Health{Component: "test", State: event.HealthUp, Reason: reason})
	if err != nil {
		panic(err)
	}
	ev.Urgent = true
	return ev
}
