//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// A full disk long before max_size: the store's directory is a 4 MiB tmpfs,
// half of it taken by another file, max_size keeps its default (256 MiB)
// and the broker is down. The box must
// purge with gap records as it does at max_size (reason disk_full), keep
// every flag and case, keep room to commit the acknowledgements, and drain
// once the broker is back: every sequence number is received or inside a
// gap, and the outbox empties.
func TestFullDiskBelowMaxSize(t *testing.T) {
	const size = 4 << 20
	mnt := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		ci.Missing(t, "cannot mount a 4 MiB tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { // registered first: runs after the daemon stopped
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	// Another program's file takes half the card, as logs do; it also
	// keeps the fill within a minute or two of the crowded gate.
	if err := os.WriteFile(filepath.Join(mnt, "other.log"), make([]byte, size/2), 0o600); err != nil {
		t.Fatal(err)
	}
	mq, cons := districtBroker(t, "district-fulldisk", true)

	r := newRig(t, scenario(t, crowdedGate()), func(c *config.Config) {
		c.Uplink.Broker = mq.URL("tcp")
		c.Storage.Path = filepath.Join(mnt, "events.db")
	})
	defer func() {
		if t.Failed() {
			t.Logf("daemon log, last lines:\n%s", r.logTail(60))
		}
	}()
	r.start(true)
	started := time.Now()
	deadline := time.Now().Add(4 * long)
	for !strings.Contains(r.logText(), "purged readings that were never uploaded") {
		if time.Now().After(deadline) {
			t.Fatalf("the 4 MiB disk did not fill within %v:\n%s", 4*long, r.logTail(20))
		}
		if !r.alive() {
			t.Fatalf("the daemon died while the disk filled:\n%s", r.logTail(40))
		}
		time.Sleep(200 * time.Millisecond)
	}
	fillTime := time.Since(started)
	time.Sleep(10 * time.Second) // go on purging for a while

	for name := range r.links {
		r.unplug(name)
	}
	mq.Start()
	r.waitDrained()
	r.stop()
	if log := r.logText(); strings.Contains(log, "no space left on device") {
		t.Errorf("a write hit ENOSPC:\n%s", r.logTail(20))
	}

	produced := r.storedIDs()
	if missing := cons.missingAfter(produced, long); len(missing) > 0 {
		t.Errorf("%d stored events never arrived, e.g. %v", len(missing), missing[:min(10, len(missing))])
	}
	events := cons.events()
	var gaps, purged, flags, readings, maxSeq uint64
	tickets := map[string]bool{}
	seen := map[uint64]bool{}
	for _, e := range events {
		seen[e.Seq] = true
		maxSeq = max(maxSeq, e.Seq)
		switch {
		case e.Kind == "gap":
			gaps++
			purged += e.Count
			if e.Reason != "disk_full" && e.Reason != "store_full" {
				t.Errorf("gap %s: reason %q, want disk_full", e.ID, e.Reason)
			}
		case e.Kind == "case" && e.State == "awaiting_recheck":
			tickets[e.Ticket] = true
		case e.Kind == "reading":
			readings++
		}
	}
	for _, e := range events {
		if e.Kind == "reading" && e.Verdict == "flag" {
			flags++
			if !tickets[e.Ticket] {
				t.Errorf("flag %s (ticket %q) arrived without its case", e.ID, e.Ticket)
			}
		}
	}
	if gaps == 0 {
		t.Fatal("no gap record reached the broker")
	}
	checkGaps(t, events, maxSeq)
	var unaccounted int
	for seq := uint64(1); seq <= maxSeq; seq++ {
		if seen[seq] {
			continue
		}
		in := false
		for _, e := range events {
			if e.Kind == "gap" && seq >= e.FromSeq && seq <= e.ToSeq {
				in = true
				break
			}
		}
		if !in {
			unaccounted++
		}
	}
	if unaccounted > 0 {
		t.Errorf("%d sequence numbers neither received nor in a gap", unaccounted)
	}
	people := uint64(len(r.sentPeople()))
	if readings+purged > people+crowdedLanes {
		t.Errorf("the box made %d readings (%d uploaded, %d in gaps) for %d people measured", readings+purged, readings, purged, people)
	}
	figures(t, "4 MiB tmpfs (2 MiB taken by another file), max_size 256 MiB: full after %v; %d people measured, %d readings received + %d in %d gap records; flags %d, all with their cases; unaccounted sequence numbers %d; outbox drained",
		fillTime.Round(time.Second), people, readings, purged, gaps, flags, unaccounted)
}
