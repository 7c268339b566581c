//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
)

// crowdedLanes walk-through gates at their highest rate (a person every
// ~0.8 s each) fill a 1 MiB store within a minute or two.
const crowdedLanes = 32

// crowdedGate is crowdedLanes walk-through gates.
func crowdedGate() string {
	var b strings.Builder
	b.WriteString("seed: 77\nduration: 0s\ndevices:\n")
	for i := 1; i <= crowdedLanes; i++ {
		fmt.Fprintf(&b, "  - {name: gate-%02d, protocol: lineproto, lane: lane-%02d, arrivals_per_min: 90, fever_share: 0.03, ambient_c: 21.5}\n", i, i)
	}
	return b.String()
}

type laneState struct {
	Lanes []struct {
		Name  string `json:"name"`
		Tally struct {
			Pass, Flag, Retake, Invalid int
		} `json:"tally"`
	} `json:"lanes"`
}

func (s laneState) total() int {
	n := 0
	for _, l := range s.Lanes {
		n += l.Tally.Pass + l.Tally.Flag + l.Tally.Retake + l.Tally.Invalid
	}
	return n
}

// Disk pressure: storage.max_size is 1 MiB (the least the configuration
// allows) and the district broker is down, so the store fills up and must
// purge readings that were never uploaded. The screen keeps following the
// readings, the gap record reaches the broker once it is back, every case
// is kept, and every sequence number is accounted for: received, or inside
// a gap.
func TestDiskPressure(t *testing.T) {
	mq, cons := districtBroker(t, "district-disk", true)

	r := newRig(t, scenario(t, crowdedGate()), func(c *config.Config) {
		c.Uplink.Broker = mq.URL("tcp")
		c.Storage.MaxSize = 1 << 20
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
			t.Fatalf("the 1 MiB store did not fill within %v:\n%s", 4*long, r.logTail(20))
		}
		if !r.alive() {
			t.Fatalf("the daemon died while the store filled:\n%s", r.logTail(40))
		}
		time.Sleep(200 * time.Millisecond)
	}
	fillTime := time.Since(started)

	// The store is full and purging: the screen must still follow every
	// reading, as the lamps do (same pipeline, own rings). The lanes'
	// tallies restart at midnight in Shanghai (16:00 UTC): a window across
	// it (with a margin for readings still in flight) is measured again.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	day := func(at time.Time) string { return at.In(shanghai).Format(time.DateOnly) }
	var before, after laneState
	var shown, sent int
	for {
		from := time.Now()
		getJSON(t, r.screen+"/api/state", &before)
		sentBefore := len(r.sentPeople())
		time.Sleep(10 * time.Second)
		getJSON(t, r.screen+"/api/state", &after)
		sentAfter := len(r.sentPeople())
		shown, sent = after.total()-before.total(), sentAfter-sentBefore
		if day(from.Add(-5*time.Second)) == day(time.Now()) {
			break
		}
		t.Logf("midnight in Shanghai fell in the window: measuring again")
	}
	t.Logf("while full: %d people sent, %d readings shown on the screen", sent, shown)
	if sent == 0 {
		t.Fatal("the simulator sent nobody while the store was full")
	}
	// A reading or two per lane may be in flight at either snapshot.
	if shown < sent-2*len(after.Lanes) {
		t.Errorf("the screen showed %d readings while %d people were measured: the lane path stalls on a full store", shown, sent)
	}

	// The gate closes (every device unplugged, no more readings), the
	// broker comes back and the box drains what it kept.
	for name := range r.links {
		r.unplug(name)
	}
	mq.Start()
	r.waitDrained()
	r.stop()

	produced := r.storedIDs()
	if missing := cons.missingAfter(produced, long); len(missing) > 0 {
		t.Errorf("%d stored events never arrived, e.g. %v", len(missing), missing[:min(10, len(missing))])
	}
	events := cons.events()
	var gaps, purged, flags, cases, maxSeq uint64
	tickets := map[string]bool{}
	seen := map[uint64]bool{}
	for _, e := range events {
		seen[e.Seq] = true
		maxSeq = max(maxSeq, e.Seq)
		switch {
		case e.Kind == "gap":
			gaps++
			purged += e.Count
		case e.Kind == "case" && e.State == "awaiting_recheck":
			cases++
			tickets[e.Ticket] = true
		}
	}
	for _, e := range events {
		if e.Kind == "reading" && e.Verdict == "flag" {
			flags++
			if e.Ticket == "" || !tickets[e.Ticket] {
				t.Errorf("flag %s (ticket %q) arrived without its case", e.ID, e.Ticket)
			}
		}
	}
	if gaps == 0 {
		t.Fatal("no gap record reached the broker")
	}
	checkGaps(t, events, maxSeq)
	// Without garbage every reading is a person: the box may not make
	// (upload or purge) more readings than people were measured.
	var readings uint64
	verdicts := map[string]int{}
	for _, e := range events {
		if e.Kind == "reading" {
			readings++
			verdicts[e.Device+" "+e.Verdict+" "+e.Reason]++
		}
	}
	if people := uint64(len(r.sentPeople())); readings+purged > people+crowdedLanes {
		t.Errorf("the box made %d readings (%d uploaded, %d purged) for %d people measured; uploaded by device, verdict and reason: %v",
			readings+purged, readings, purged, people, verdicts)
	}
	// Every sequence number is accounted for: received, or purged inside
	// a gap the district was told about.
	inGap := func(seq uint64) bool {
		for _, e := range events {
			if e.Kind == "gap" && seq >= e.FromSeq && seq <= e.ToSeq {
				return true
			}
		}
		return false
	}
	var unaccounted []uint64
	for seq := uint64(1); seq <= maxSeq; seq++ {
		if !seen[seq] && !inGap(seq) {
			unaccounted = append(unaccounted, seq)
		}
	}
	if len(unaccounted) > 0 {
		t.Errorf("%d sequence numbers neither received nor in a gap, e.g. %v", len(unaccounted), unaccounted[:min(10, len(unaccounted))])
	}
	figures(t, "max_size 1 MiB filled in %v; gap records %d covering %d purged readings; flags %d, cases opened %d, cases lost 0; events received %d, unaccounted sequence numbers %d; screen readings while full %d of %d people",
		fillTime.Round(time.Second), gaps, purged, flags, cases, len(events), len(unaccounted), shown, sent)
}

// checkGaps requires the gap records to tell the truth: ranges that do not
// overlap, counts that fit their ranges and add up to at most every
// sequence number, and no uploaded normal reading inside a purged range.
func checkGaps(t *testing.T, events []eventObj, maxSeq uint64) {
	t.Helper()
	var gaps []eventObj
	var total uint64
	for _, e := range events {
		if e.Kind != "gap" {
			continue
		}
		total += e.Count
		if e.FromSeq > e.ToSeq || e.Count == 0 || e.Count > e.ToSeq-e.FromSeq+1 {
			t.Errorf("gap %s: %d readings in seq %d–%d", e.ID, e.Count, e.FromSeq, e.ToSeq)
		}
		for _, g := range gaps {
			if e.FromSeq <= g.ToSeq && g.FromSeq <= e.ToSeq {
				t.Errorf("gap %s (seq %d–%d) overlaps gap %s (seq %d–%d)", e.ID, e.FromSeq, e.ToSeq, g.ID, g.FromSeq, g.ToSeq)
				break
			}
		}
		gaps = append(gaps, e)
	}
	if total > maxSeq {
		t.Errorf("%d gap records claim %d purged readings, more than the %d events the box ever made", len(gaps), total, maxSeq)
	}
	for _, e := range events {
		if e.Kind != "reading" || e.Verdict == "flag" {
			continue
		}
		for _, g := range gaps {
			if e.Seq >= g.FromSeq && e.Seq <= g.ToSeq {
				t.Errorf("reading %s arrived although gap %s says seq %d–%d were purged", e.ID, g.ID, g.FromSeq, g.ToSeq)
				break
			}
		}
	}
}
