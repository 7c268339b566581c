package storage

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if path := os.Getenv(uncheckedChildEnv); path != "" {
		uncheckedChild(path)
		return
	}
	if path := os.Getenv(bboltCheckChildEnv); path != "" {
		bboltCheckChild(path)
		return
	}
	// The race runtime sleeps a second at exit; the checker and crash
	// children are processes of this binary, so do not wait for nothing.
	if err := os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// openStore opens a store in a test and, on cleanup, closes it and runs
// bbolt's integrity check on the file.
func openStore(t testing.TB, path string, o Opts) *Store {
	t.Helper()
	o.Logger = zerolog.Nop()
	return openStoreLogged(t, path, o)
}

// openStoreLogged is openStore with o.Logger kept.
func openStoreLogged(t testing.TB, path string, o Opts) *Store {
	t.Helper()
	s, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
		mustCheck(t, path)
	})
	return s
}

// mustCheck runs tx.Check on a closed store file.
func mustCheck(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Errorf("integrity: open %s: %v", path, err)
		return
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("integrity: %s: %v", path, err)
	}
}

func tempPath(t testing.TB) string { return filepath.Join(t.TempDir(), "events.db") }

func ptr(f float64) *float64 { return &f }

// reading builds a reading event; flagged readings are urgent, as the
// pipeline sends them.
func reading(t testing.TB, lane, verdict string, wall time.Time) event.Event {
	t.Helper()
	ev, err := event.New(event.KindReading, event.Reading{
		Lane: lane, Role: "student", Device: "gun-1", RawC: ptr(36.1), AmbientC: ptr(22),
		BodyC: ptr(36.6), Verdict: verdict, ThresholdC: 37.3, Round: "morning",
		Warnings: []string{"ambient_low"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ev.Urgent = verdict == event.VerdictFlag
	ev.Wall, ev.BootID, ev.Mono, ev.ClockSynced = wall.UnixNano(), "boot-1", 42, true
	return ev
}

// flagReading is a flagged reading that drew ticket, as the pipeline's
// event sink stores it.
func flagReading(t testing.TB, lane, ticket string, wall time.Time, mono int64) event.Event {
	t.Helper()
	ev := reading(t, lane, event.VerdictFlag, wall)
	r := decodeBody[event.Reading](t, ev)
	r.Ticket, r.BodyC = ticket, ptr(37.9)
	ev.Body = mustJSON(r)
	ev.Mono = mono
	return ev
}

// openedBy is the case c opened by the flagged reading flag, stamped with
// the reading's times as the pipeline's Cases stamps it.
func openedBy(t testing.TB, flag event.Event, c event.Case) event.Event {
	t.Helper()
	ev := mustEvent(t, event.KindCase, c, time.Unix(0, flag.Wall))
	ev.Mono, ev.BootID, ev.ClockSynced, ev.Drill = flag.Mono, flag.BootID, flag.ClockSynced, flag.Drill
	return ev
}

func mustEvent(t testing.TB, k event.Kind, payload any, wall time.Time) event.Event {
	t.Helper()
	ev, err := event.New(k, payload)
	if err != nil {
		t.Fatal(err)
	}
	ev.Wall, ev.Urgent = wall.UnixNano(), true
	return ev
}

// fakeClock is a settable clock for Opts.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// healthLog records OnHealth calls.
type healthLog struct {
	mu sync.Mutex
	hs []event.Health
}

func (h *healthLog) add(x event.Health) {
	h.mu.Lock()
	h.hs = append(h.hs, x)
	h.mu.Unlock()
}

func (h *healthLog) all() []event.Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]event.Health(nil), h.hs...)
}

// allSeqs returns every stored event by seq.
func allSeqs(t testing.TB, s *Store) map[uint64]event.Event {
	t.Helper()
	out := map[uint64]event.Event{}
	err := s.Scan(time.Unix(0, -1<<62), time.Unix(0, 1<<62), func(ev event.Event) error {
		out[ev.Seq] = ev
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeBody[T any](t testing.TB, ev event.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.Body, &v); err != nil {
		t.Fatalf("seq %d: %v", ev.Seq, err)
	}
	return v
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, cond)
}
