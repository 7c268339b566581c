package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
)

// startStore starts a store and closes it when the test ends.
func startStore(t *testing.T, path string, o Opts) *Store {
	t.Helper()
	o.Logger = zerolog.Nop()
	s := Start(path, o)
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// lanesInOrder returns the lanes of the stored readings in sequence order.
func lanesInOrder(t *testing.T, s *Store) []string {
	t.Helper()
	var lanes []string
	err := s.Scan(time.Unix(0, -1<<62), time.Unix(0, 1<<62), func(ev event.Event) error {
		if ev.Kind == event.KindReading {
			lanes = append(lanes, decodeBody[event.Reading](t, ev).Lane)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lanes
}

// The gate must not wait for the store's check (issue #17): Start returns
// while the check still waits (here for another process's lock on the
// file), takes readings at once, and stores them in order after what the
// file held once it is open.
func TestStartTakesReadingsWhileTheFileIsChecked(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{})
	if err := s.Append(reading(t, "before", event.VerdictPass, t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	s = startStore(t, path, Opts{LockTimeout: 10 * time.Second})
	if took := time.Since(began); took > 500*time.Millisecond {
		t.Fatalf("Start took %v while the file was locked; it must not wait for the check", took)
	}
	for _, lane := range []string{"L1", "L2", "L3"} {
		if err := s.Append(reading(t, lane, event.VerdictPass, t0)); err != nil {
			t.Fatalf("Append before the file is open: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait while the file is locked = %v, want the deadline", err)
	}
	unlock()
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := lanesInOrder(t, s); len(got) != 4 || got[0] != "before" || got[1] != "L1" || got[2] != "L2" || got[3] != "L3" {
		t.Fatalf("stored lanes %v, want before, L1, L2, L3", got)
	}
}

// A corrupt file is still set aside when the gate did not wait for the
// check, and what came meanwhile is stored, in order, in the fresh file.
func TestStartQuarantinesAndKeepsWhatCameMeanwhile(t *testing.T) {
	path := tempPath(t)
	if err := os.WriteFile(path, []byte("not a bbolt file, garbage after a bad power cut"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStore(t, path, Opts{})
	for _, lane := range []string{"L1", "L2"} {
		if err := s.Append(reading(t, lane, event.VerdictPass, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
		t.Fatalf("files set aside: %v, want one", aside)
	}
	if got := lanesInOrder(t, s); len(got) != 2 || got[0] != "L1" || got[1] != "L2" {
		t.Fatalf("stored lanes %v, want L1, L2", got)
	}
}

// A store that cannot open (locked by another gatescreen) answers what
// waits with the reason, and Close still returns.
func TestStartThatFailsAnswersWithItsError(t *testing.T) {
	path := tempPath(t)
	openStore(t, path, Opts{})
	s := startStore(t, path, Opts{LockTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictFlag, t0)); !errors.Is(err, ErrLocked) {
		t.Fatalf("AppendWait = %v, want ErrLocked", err)
	}
	if err := s.Wait(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("Wait = %v, want ErrLocked", err)
	}
	if _, err := s.OpenCases(); !errors.Is(err, ErrLocked) {
		t.Fatalf("OpenCases = %v, want ErrLocked", err)
	}
}
