package uplink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/testkit/poll"
)

// long bounds every wait in these tests: generous, never a speed target.
const long = 30 * time.Second

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, long, what, cond)
}

// collector is a district consumer: it counts every event id it receives.
type collector struct {
	mu sync.Mutex
	// ids counts deliveries per event id; brokerDups counts deliveries in
	// messages the broker itself flagged as redelivered (DUP).
	ids        map[string]int
	brokerDups int
	statuses   []statusMessage
	topics     []string
}

func newCollector() *collector { return &collector{ids: map[string]int{}} }

func (c *collector) handle(_ paho.Client, m paho.Message) {
	c.record(m.Topic(), m.Payload(), m.Duplicate())
}

func (c *collector) record(topic string, payload []byte, dup bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.topics = append(c.topics, topic)
	if strings.HasSuffix(topic, "/status") {
		var s statusMessage
		if err := json.Unmarshal(payload, &s); err == nil {
			c.statuses = append(c.statuses, s)
		}
		return
	}
	var msg struct {
		ID     string `json:"id"`
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	if err := json.Unmarshal(payload, &msg); err != nil {
		c.ids["unparsable:"+string(payload)]++
		return
	}
	var ids []string
	if msg.ID != "" {
		ids = append(ids, msg.ID)
	}
	for _, e := range msg.Events {
		ids = append(ids, e.ID)
	}
	for _, id := range ids {
		c.ids[id]++
		if dup {
			c.brokerDups++
		}
	}
}

func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

// duplicates returns deliveries beyond the first, minus those the broker
// flagged as its own redelivery.
func (c *collector) duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.ids {
		n += k - 1
	}
	return n - c.brokerDups
}

func (c *collector) lastStatus() (statusMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.statuses) == 0 {
		return statusMessage{}, false
	}
	return c.statuses[len(c.statuses)-1], true
}

// subscribe connects a paho consumer. clean=false keeps its session (and
// the messages queued for it) across its own disconnects and broker
// restarts with persistence.
func subscribe(t testing.TB, broker, clientID, filter string, clean bool, tlsCfg *tls.Config, c *collector) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(clean).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetConnectTimeout(5 * time.Second).
		SetOrderMatters(false).SetDefaultPublishHandler(c.handle).SetTLSConfig(tlsCfg).
		SetOnConnectHandler(func(cl paho.Client) {
			// Resubscribe from a goroutine: never block paho's handler.
			go cl.Subscribe(filter, 1, c.handle)
		})
	cl := paho.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("subscriber connect %s: %v", broker, tok.Error())
	}
	// Make sure the subscription is in place before the test goes on.
	if tok := cl.Subscribe(filter, 1, c.handle); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl
}

// runUplink starts u.Run and returns a stop function that cancels it and
// waits for Run to return nil.
func runUplink(t testing.TB, u *Uplink) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- u.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(long):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func testOpts(broker string) Opts {
	return Opts{
		Broker: broker, District: "haidian", School: "school-17", Gate: "east", BoxID: "hd17-east",
		BootID: "boot-test", Version: "test", Identity: IdentityNone,
		Timeout: 5 * time.Second, MaxBackoff: 200 * time.Millisecond, Logger: zerolog.Nop(),
	}
}

func newUplink(t testing.TB, ob Outbox, o Opts) *Uplink {
	t.Helper()
	u, err := New(ob, o)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
