//go:build e2e

package e2e

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// powerCuts is how many times the daemon is SIGKILLed (issue #9 item 1).
const powerCuts = 30

// seedFromEnv returns E2E_SEED or a fresh seed; the test logs it so a
// failing run can be repeated.
func seedFromEnv(t *testing.T) uint64 {
	if s := os.Getenv("E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("E2E_SEED=%q: %v", s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

// Power cut: the daemon is SIGKILLed at random moments under load, 30
// times (some during its start, before the store or the broker connection
// is open). After every cut the test reads the bbolt file: every event in
// it is durable and must reach the broker eventually, ids unique except for
// resends of identical content.
func TestPowerCutLosesNoDurableEvent(t *testing.T) {
	seed := seedFromEnv(t)
	t.Logf("seed %d (E2E_SEED=%d repeats this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	port := mosquittotest.FreePort(t)
	mq := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	mq.Start()
	cons := newConsumer()
	subscribe(t, mq.URL("tcp"), "district-powercut", nil, cons)

	r := newRig(t, scenario(t, busyGate), func(c *config.Config) { c.Uplink.Broker = mq.URL("tcp") })
	durable := map[string]bool{}
	var cutDuringStart int
	for i := range powerCuts {
		r.start(false)
		// Anywhere from the middle of the start (store check, broker
		// connect) to a few seconds of running under load.
		after := time.Duration(rng.Int64N(int64(3 * time.Second)))
		time.Sleep(after)
		if after < 300*time.Millisecond {
			cutDuringStart++
		}
		if !r.alive() {
			t.Fatalf("cut %d: the daemon died on its own before the cut:\n%s", i+1, r.logTail(40))
		}
		r.kill()
		for id := range r.storedIDs() {
			durable[id] = true
		}
	}
	t.Logf("%d cuts (%d within 300 ms of the start); %d events durable in the store", powerCuts, cutDuringStart, len(durable))
	if len(durable) == 0 {
		t.Fatal("no event was ever stored: the load did not reach the daemon")
	}

	// Power back: every event that was durable at any cut reaches the
	// district.
	r.start(true)
	waitAllReceived(t, cons, durable, "the events durable at the cuts")
	r.stop()
	final := r.storedIDs()
	for id := range durable {
		if !final[id] {
			// An event leaves the store only by retention or a purge,
			// neither of which may happen in this test.
			t.Errorf("event %s was durable at a cut but is gone from the store", id)
		}
	}
	// The last run's events too: restart to drain them.
	r.start(true)
	waitAllReceived(t, cons, final, "the events stored by the last run")
	r.stop()

	lost := len(cons.missing(final))
	if c := cons.conflictIDs(); len(c) > 0 {
		t.Errorf("%d ids delivered with different contents (an id reused for another event?): %v", len(c), c[:min(5, len(c))])
	}
	// Whatever the district got, the box has: no phantom event, no id
	// invented by a torn write.
	end := r.storedIDs()
	received := cons.receivedIDs()
	for id := range received {
		if !end[id] {
			t.Errorf("received %s, which is not in the store", id)
		}
	}
	// The district saw the box vanish: the broker published its last will.
	wills := cons.lastWills()
	if wills == 0 {
		t.Error("no offline status (last will) reached the district after 30 power cuts")
	}
	figures(t, "runs 1, power cuts %d (%d during start), events produced %d, received distinct %d, duplicates %d, lost %d, last wills seen %d",
		powerCuts, cutDuringStart, len(final), len(received), cons.duplicates(), lost, wills)
}
