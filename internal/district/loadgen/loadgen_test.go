package loadgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/district/loadgen"
	"github.com/gatescreen/gatescreen/internal/district/schema"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
)

// Every message the generator sends passes the published schema of its
// topic, and the boxes' events are exactly <box>:1 … <box>:LastSeq: the
// status (online, then the clean offline), readings batches, flags with
// their cases, the daily report.
func TestPayloadsPassTheSchemas(t *testing.T) {
	broker := mosquittotest.StartPlain(t)
	v, err := schema.New()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}        // event id → times
	topics := map[string]int{}      // last level → messages
	states := map[string][]string{} // box → statuses in order
	var bad []string
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL("tcp")).SetClientID("checker").
		SetOrderMatters(true).SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		last := m.Topic()[strings.LastIndex(m.Topic(), "/")+1:]
		mu.Lock()
		defer mu.Unlock()
		topics[last]++
		if err := v.Validate(last, m.Payload()); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v: %s", m.Topic(), err, m.Payload()))
			return
		}
		var p struct {
			Box, ID, State string
			Events         []struct{ ID string }
		}
		if err := json.Unmarshal(m.Payload(), &p); err != nil {
			bad = append(bad, err.Error())
			return
		}
		switch last {
		case "status":
			states[p.Box] = append(states[p.Box], p.State)
		case "readings":
			for _, e := range p.Events {
				seen[e.ID]++
			}
		default:
			seen[p.ID]++
		}
	}))
	if tok := sub.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("gatescreen/v1/#", 1, nil); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	r, err := loadgen.Run(context.Background(), loadgen.Opts{
		Broker: broker.URL("tcp"), Boxes: 6, GatesPerSchool: 3, Rate: 600, Duration: 2 * time.Second, FlagEvery: 25,
	})
	if err != nil {
		t.Fatal(err)
	}
	var published int
	for _, last := range r.LastSeq {
		published += int(last)
	}
	// The last messages, the offline statuses among them, are still on their
	// way to the checker: wait for them rather than a fixed while, which a
	// loaded machine outran.
	poll.Until(t, 30*time.Second, "every id and both statuses of every box at the checker", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= published && topics["status"] >= 2*len(r.LastSeq)
	})

	mu.Lock()
	defer mu.Unlock()
	for _, b := range bad {
		t.Error(b)
	}
	var want int64
	for box, last := range r.LastSeq {
		want += last
		for s := int64(1); s <= last; s++ {
			if id := fmt.Sprintf("%s:%d", box, s); seen[id] != 1 {
				t.Errorf("%s received %d times", id, seen[id])
			}
		}
		if got := strings.Join(states[box], " "); got != "online offline" {
			t.Errorf("%s statuses %q, want online then offline", box, got)
		}
	}
	if len(r.LastSeq) != 6 || r.Events != want || int64(len(seen)) != want {
		t.Errorf("%d boxes, %d events PUBACKed, %d ids received, %d published", len(r.LastSeq), r.Events, len(seen), want)
	}
	if topics["readings"] == 0 || topics["cases"] == 0 || topics["daily"] != 6 || topics["status"] != 12 {
		t.Errorf("messages by topic %v", topics)
	}
	if r.EventsPerSec < 300 || r.PubackP50 <= 0 || r.PubackP99 < r.PubackP50 {
		t.Errorf("result %+v", r)
	}
}

// The rush has a mean of 1 (Rate is the run's average), three waves, and
// a peak well above the mean, nothing before the first wave.
func TestRushProfile(t *testing.T) {
	r := loadgen.NewRush()
	var sum float64
	const n = 10000
	for i := 0; i < n; i++ {
		sum += r.Rate((float64(i) + 0.5) / n)
	}
	if mean := sum / n; mean < 0.99 || mean > 1.01 {
		t.Errorf("mean %.3f, want 1", mean)
	}
	if p := r.Peak(); p < 2 || p > 6 {
		t.Errorf("peak %.2f×, want a rush (2–6× the mean)", p)
	}
	if r.Rate(0.01) != 0 || r.Rate(1) != 0 || r.Rate(-0.1) != 0 {
		t.Errorf("arrivals before the first wave or outside the run")
	}
	if _, err := loadgen.ParseProfile("sawtooth"); err == nil {
		t.Error("an unknown profile accepted")
	}
}

// slowDB is a database whose every read takes a second, as a saturated
// PostgreSQL did in bench-district.sh; it never sees the probes committed.
type slowDB struct{}

func (slowDB) LastSeq(ctx context.Context, _ string) (int64, error) {
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	return 0, nil
}

// A slow database read holds up neither the probe's readings nor their
// count: every ProbeEvery one is sent, and the ones never seen committed
// are reported missing, their age growing.
func TestProbeKeepsSendingWhileTheDatabaseIsSlow(t *testing.T) {
	broker := mosquittotest.StartPlain(t)
	r, err := loadgen.Run(context.Background(), loadgen.Opts{
		Broker: broker.URL("tcp"), Boxes: 2, Rate: 20, Duration: 3 * time.Second, Probe: slowDB{}, ProbeEvery: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.ProbeSent < 15 || r.ProbeMissing != r.ProbeSent {
		t.Errorf("%d probes sent in 3 s at one a 100 ms, %d missing; want about 30 (at least 15 on a busy machine), all missing", r.ProbeSent, r.ProbeMissing)
	}
	if last := r.OldestUnacked[len(r.OldestUnacked)-1]; last < 2*time.Second {
		t.Errorf("oldest uncommitted probe %s old at the end, want about 3 s", last)
	}
}
