package clock

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeSystem is a box that boots a day behind and is later set right by NTP.
type fakeSystem struct {
	mu     sync.Mutex
	mono   int64     // ns since boot
	wall   time.Time // what the wall clock shows
	synced bool
}

func (f *fakeSystem) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mono += int64(d)
	f.wall = f.wall.Add(d)
}

// ntpStep sets the wall clock right and marks it synchronised.
func (f *fakeSystem) ntpStep(trueNow time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wall = trueNow
	f.synced = true
}

func (f *fakeSystem) opts(t *testing.T, bootID string) Opts {
	t.Helper()
	path := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(path, []byte(bootID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Opts{
		Now:        func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.wall },
		Mono:       func() int64 { f.mu.Lock(); defer f.mu.Unlock(); return f.mono },
		SyncedFunc: func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.synced },
		BootIDPath: path,
		Poll:       time.Millisecond,
		Logger:     zerolog.Nop(),
	}
}

func TestCorrectAfterClockADayWrong(t *testing.T) {
	trueStart := time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC)
	sys := &fakeSystem{mono: int64(3 * time.Second), wall: trueStart.Add(-24 * time.Hour)}
	var saved []Anchor
	o := sys.opts(t, "boot-a")
	o.SaveAnchor = func(a Anchor) error { saved = append(saved, a); return nil }
	c := New(o)

	if c.BootID() != "boot-a" {
		t.Fatalf("BootID = %q", c.BootID())
	}
	if c.Synced() {
		t.Fatal("Synced before NTP")
	}
	// A reading at the gate before NTP: its wall time is a day wrong.
	mono1, wall1 := c.Stamp()
	if w, ok := c.Correct(c.BootID(), mono1, wall1, false); ok || w != wall1 {
		t.Fatalf("Correct before sync = %d,%v; want unchanged and unsynced", w, ok)
	}

	sys.advance(90 * time.Second)
	sys.ntpStep(trueStart.Add(90 * time.Second))
	c.check()
	if !c.Synced() {
		t.Fatal("not Synced after NTP")
	}
	if len(saved) != 1 || saved[0].BootID != "boot-a" {
		t.Fatalf("saved anchors = %+v; want one for boot-a", saved)
	}
	got, ok := c.Correct(c.BootID(), mono1, wall1, false)
	if !ok {
		t.Fatal("Correct after sync did not mark the event synced")
	}
	if want := trueStart.UnixNano(); got != want {
		t.Fatalf("corrected wall = %v; want %v", time.Unix(0, got).UTC(), trueStart)
	}

	// A second sync in the same boot keeps the first anchor.
	sys.advance(time.Hour)
	c.check()
	if len(saved) != 1 {
		t.Fatalf("anchor saved again: %+v", saved)
	}
	// Synced events pass unchanged; other boots without an anchor stay unsynced.
	if w, ok := c.Correct("boot-a", 1, 42, true); !ok || w != 42 {
		t.Fatalf("synced event changed: %d %v", w, ok)
	}
	if w, ok := c.Correct("boot-old", mono1, wall1, false); ok || w != wall1 {
		t.Fatalf("other boot corrected: %d %v", w, ok)
	}
}

func TestAnchorsOfEarlierBootsFromOpts(t *testing.T) {
	sys := &fakeSystem{wall: time.Unix(0, 0)}
	o := sys.opts(t, "boot-b")
	o.Anchors = []Anchor{{BootID: "boot-a", Mono: 100e9, Wall: 1_800_000_000e9}}
	c := New(o)
	// An event of boot-a captured 40 s before its sync, uploaded in boot-b.
	w, ok := c.Correct("boot-a", 60e9, 5, false)
	if !ok || w != 1_800_000_000e9-40e9 {
		t.Fatalf("Correct = %d,%v", w, ok)
	}
	if _, ok := c.Anchor(); ok {
		t.Fatal("boot-b has an anchor before it synced")
	}
}

func TestRunRecordsAnchorOnFirstSync(t *testing.T) {
	sys := &fakeSystem{wall: time.Unix(1000, 0), mono: 5}
	var saves atomic.Int32
	o := sys.opts(t, "boot-c")
	o.SaveAnchor = func(Anchor) error { saves.Add(1); return nil }
	c := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	sys.ntpStep(time.Unix(2000, 0))
	deadline := time.After(10 * time.Second)
	for saves.Load() == 0 {
		select {
		case <-deadline:
			t.Fatal("Run never recorded an anchor")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
	a, ok := c.Anchor()
	if !ok || a.BootID != "boot-c" || a.Wall != time.Unix(2000, 0).UnixNano() || a.Mono != 5 {
		t.Fatalf("anchor = %+v %v", a, ok)
	}
}

func TestBootIDErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := ReadBootID(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("ReadBootID(missing) error %v does not name the file", err)
	}
	c := New(Opts{BootIDPath: missing, SyncedFunc: func() bool { return false }, Logger: zerolog.Nop()})
	if c.BootID() != "unknown" {
		t.Fatalf("BootID = %q", c.BootID())
	}
}

func TestRealSystem(t *testing.T) {
	c := New(Opts{Logger: zerolog.Nop()})
	if len(c.BootID()) != 36 {
		t.Fatalf("boot id %q is not a UUID", c.BootID())
	}
	m1, _ := c.Stamp()
	m2, _ := c.Stamp()
	if m1 <= 0 || m2 < m1 {
		t.Fatalf("monotonic clock went %d → %d", m1, m2)
	}
	if _, err := KernelSynced(); err != nil {
		t.Fatal(err)
	}
}
