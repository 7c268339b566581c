package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// readingsPayload is a readings message of box's with one event per seq.
func readingsPayload(box string, seqs ...int64) []byte {
	var evs []string
	for _, s := range seqs {
		evs = append(evs, fmt.Sprintf(`{"id":"%s:%d","seq":%d,"kind":"reading","captured_at":"2026-11-23T07:12:05.250Z",`+
			`"clock_synced":true,"drill":false,"lane":"lane-1","device":"ir-1","verdict":"pass","threshold_c":37.3,"body_c":36.6}`, box, s, s))
	}
	return []byte(fmt.Sprintf(`{"v":1,"box":%q,"events":[%s]}`, box, strings.Join(evs, ",")))
}

func publisher(t *testing.T, broker string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, retained bool, payload []byte) {
	t.Helper()
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("publishing on %s: %v", topic, tok.Error())
	}
}

// goldenSkew is the tests' clock skew: the golden payloads were captured
// on 2026-11-23, and stay plausible (counted on their day, their daily
// report kept) whenever the tests run.
const goldenSkew = 50 * 365 * 24 * time.Hour

func sqliteStore(t *testing.T) *store.Store {
	t.Helper()
	return sqliteStoreSkew(t, goldenSkew)
}

func sqliteStoreSkew(t *testing.T, skew time.Duration) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "district.db"), store.Opts{ClockSkew: skew})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// running is an ingester started by a test.
type running struct {
	*Ingester
	cancel context.CancelFunc
	done   chan error
	log    *syncbuf.Buffer
}

// start runs an ingester until the test ends or stop; it returns once the
// subscription is in place.
func start(t *testing.T, opts Opts) *running {
	t.Helper()
	log := &syncbuf.Buffer{}
	opts.Log = zerolog.New(log)
	if opts.District == "" {
		opts.District = "hd"
	}
	if opts.Group == "" {
		opts.Group = "district"
	}
	if opts.ClientID == "" {
		opts.ClientID = "ingest-1"
	}
	in, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Ingester: in, cancel: cancel, done: make(chan error, 1), log: log}
	go func() { r.done <- in.Run(ctx) }()
	t.Cleanup(r.stop)
	select {
	case <-in.Ready():
	case err := <-r.done:
		t.Fatalf("ingester stopped: %v\n%s", err, log)
	case <-time.After(30 * time.Second):
		t.Fatalf("ingester not subscribed after 30 s:\n%s", log)
	}
	return r
}

func (r *running) stop() {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
	}
}

// eventIDs returns the stored ids and fails t on a repeated one.
func eventIDs(t *testing.T, s *store.Store) map[string]bool {
	t.Helper()
	evs, err := s.Events(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		if ids[e.ID] {
			t.Errorf("event %s stored twice", e.ID)
		}
		ids[e.ID] = true
	}
	return ids
}
