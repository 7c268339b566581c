//go:build e2e

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
)

// Broker outage: the district broker is down for the first half of a
// 24-second rush, then comes back and is restarted twice while the box
// drains its backlog. The set of event ids received equals the set the box
// produced (its store at the end).
func TestBrokerOutageDeliversEverything(t *testing.T) {
	const rush = 24 * time.Second
	// The district's persistent session exists before the outage, so the
	// broker queues for it whatever the order of reconnects.
	mq, cons := districtBroker(t, "district-outage", true)

	sc := scenario(t, strings.Replace(busyGate, "duration: 0s", "duration: "+rush.String(), 1))
	r := newRig(t, sc, func(c *config.Config) {
		c.Uplink.Broker = mq.URL("tcp")
		// Small, rate-limited batches stretch the drain so that the
		// restarts fall inside it.
		c.Uplink.BatchSize = 10
		c.Uplink.RateLimit = 10
	})
	r.start(true)
	time.Sleep(rush / 2)
	if n := cons.count(); n != 0 {
		t.Fatalf("%d events received while the broker was down", n)
	}
	backlog, _ := r.outboxDepth()
	mq.Start()
	restarts := 0
	for range 2 {
		before := cons.count()
		// The box's reconnect backoff may have grown to its 60 s cap.
		deadline := time.Now().Add(3 * long)
		for cons.count() < before+20 {
			if time.Now().After(deadline) {
				t.Fatalf("the drain made no progress for %v after the broker came back", 3*long)
			}
			time.Sleep(50 * time.Millisecond)
		}
		depth, _ := r.outboxDepth()
		if depth == 0 {
			t.Fatalf("restart %d: the backlog was already drained; the restart would not test the drain", restarts+1)
		}
		t.Logf("restart %d of the broker with %d events received and %d in the outbox", restarts+1, cons.count(), depth)
		mq.Stop(syscall.SIGTERM)
		time.Sleep(time.Second)
		mq.Start()
		restarts++
	}
	<-r.gate().Done()
	r.waitDrained()
	r.stop()

	produced := r.storedIDs()
	missing := cons.missingAfter(produced, long)
	received := cons.receivedIDs()
	var extra []string
	for id := range received {
		if !produced[id] {
			extra = append(extra, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d produced events never arrived, e.g. %v", len(missing), len(produced), missing[:min(10, len(missing))])
	}
	if len(extra) > 0 {
		t.Errorf("%d received events are not in the store, e.g. %v", len(extra), extra[:min(10, len(extra))])
	}
	if c := cons.conflictIDs(); len(c) > 0 {
		t.Errorf("%d ids delivered with different contents: %v", len(c), c[:min(5, len(c))])
	}
	figures(t, "outage %v, backlog at reconnect %d, broker restarts during the drain %d, events produced %d, received distinct %d, duplicates %d, lost %d",
		rush/2, backlog, restarts, len(produced), len(received), cons.duplicates(), len(missing))
}
