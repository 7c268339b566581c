package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/broker"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// pixelList is a JSON list of 64 numbers or more: an 8×8 frame or larger.
var pixelList = regexp.MustCompile(`\[\s*-?[0-9.eE+-]+(\s*,\s*-?[0-9.eE+-]+){63,}\s*\]`)

// A simulated AMG8833, and an MLX90640, through the whole daemon: the frame
// its reading was measured from reaches the screen's /api/state on its
// lane, and nothing of it is in any MQTT payload the uplink sends or in any
// record of the store.
func TestThermalFrameOnTheScreenOnly(t *testing.T) {
	for _, c := range []struct {
		protocol string
		w, h     int
	}{{sim.ProtocolAMG8833, 8, 8}, {sim.ProtocolMLX90640, 32, 24}} {
		t.Run(c.protocol, func(t *testing.T) { thermalFrameOnTheScreenOnly(t, c.protocol, c.w, c.h) })
	}
}

func thermalFrameOnTheScreenOnly(t *testing.T, protocol string, w, h int) {
	sc, err := sim.ParseScenario(t.Name(), []byte(`
seed: 7
devices:
  - {name: array, protocol: `+protocol+`, lane: lane-1, arrivals_per_min: 30, fever_share: 0.5, dwell_min: 1200ms, dwell_max: 1500ms, ambient_c: 21.5}
`))
	if err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	gate, err := sim.Start(simCtx, sc, sim.Opts{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	mq, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mq.Close()
	var (
		mu       sync.Mutex
		payloads [][]byte
	)
	if err := mq.Subscribe("gatescreen/v1/#", 1, func(_ string, p []byte) {
		mu.Lock()
		defer mu.Unlock()
		payloads = append(payloads, bytes.Clone(p))
	}); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	cfg.Site = config.Site{District: "d", School: "s", Gate: "g", BoxID: "box-1", Timezone: "Asia/Shanghai"}
	cfg.Storage.Path = filepath.Join(t.TempDir(), "events.db")
	cfg.Screen.Listen, cfg.Metrics.Listen = "127.0.0.1:0", ""
	cfg.Uplink.Broker = mq.URL()
	cfg.Devices = gate.Devices()
	cfg.Lanes = []config.Lane{{Name: "lane-1", Role: event.RoleStudent, Device: "array"}}
	var logs syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready, done := make(chan Info, 1), make(chan error, 1)
	go func() {
		done <- Run(ctx, Opts{Config: &cfg, Secrets: config.Secrets{PseudonymKey: []byte("test-key")},
			Logger: zerolog.New(&logs), Ready: func(i Info) { ready <- i }})
	}()
	var info Info
	select {
	case info = <-ready:
	case err := <-done:
		t.Fatalf("Run returned before it was ready: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("not ready in 30 s\n%s", logs.String())
	}

	type thumb struct {
		At     int64   `json:"at"`
		Device string  `json:"device"`
		W      int     `json:"w"`
		H      int     `json:"h"`
		MinC   float64 `json:"min_c"`
		MaxC   float64 `json:"max_c"`
		PNG    string  `json:"png"`
	}
	var lane struct {
		Last *struct {
			At      int64  `json:"at"`
			Verdict string `json:"verdict"`
		} `json:"last"`
		Thumb *thumb `json:"thumb"`
	}
	poll.Until(t, 60*time.Second, "a thermal thumbnail on the screen", func() bool {
		resp, err := http.Get(info.ScreenURL + "/api/state")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st struct {
			Lanes []json.RawMessage `json:"lanes"`
		}
		if json.NewDecoder(resp.Body).Decode(&st) != nil || len(st.Lanes) != 1 {
			return false
		}
		return json.Unmarshal(st.Lanes[0], &lane) == nil && lane.Thumb != nil
	})
	if lane.Last == nil || lane.Thumb.At != lane.Last.At || lane.Thumb.Device != "array" || lane.Thumb.W != w || lane.Thumb.H != h ||
		!strings.HasPrefix(lane.Thumb.PNG, "data:image/png;base64,") || lane.Thumb.MaxC < 30 {
		t.Fatalf("thumbnail %+v with the reading %+v, want the %d×%d frame of that reading", lane.Thumb, lane.Last, w, h)
	}
	image := strings.TrimPrefix(lane.Thumb.PNG, "data:image/png;base64,")

	// The reading went up: wait for it, then stop and read the store.
	poll.Until(t, 30*time.Second, "a reading uplinked", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range payloads {
			if bytes.Contains(p, []byte(`"verdict"`)) {
				return true
			}
		}
		return false
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	leak := func(b []byte) string {
		for _, mark := range []string{image[:32], "image/png", "thumb", "png", "pixels"} {
			if bytes.Contains(b, []byte(mark)) {
				return mark
			}
		}
		if m := pixelList.Find(b); m != nil {
			return "a list of 64 numbers or more"
		}
		return ""
	}
	// The check finds the frame where it is: the screen's lane, and the
	// frame's pixels as a list.
	shown, _ := json.Marshal(lane)
	frame, _ := json.Marshal(make([]float64, 64))
	if leak(shown) == "" || leak(frame) == "" {
		t.Fatal("the leak check misses the frame")
	}
	leaks := func(what string, b []byte) {
		t.Helper()
		if why := leak(b); why != "" {
			t.Errorf("%s holds %s: %.300s", what, why, b)
		}
	}
	mu.Lock()
	for _, p := range payloads {
		leaks("MQTT payload", p)
	}
	t.Logf("%d MQTT payloads checked", len(payloads))
	mu.Unlock()

	db, err := bolt.Open(cfg.Storage.Path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	records, readings := 0, 0
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return walkBucket(b, func(v []byte) {
				records++
				if bytes.Contains(v, []byte(`"verdict"`)) {
					readings++
				}
				leaks("store record in "+string(name), v)
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if readings == 0 {
		t.Fatalf("no reading in the store's %d records", records)
	}
	t.Logf("%d store records checked, %d readings", records, readings)
}

// walkBucket calls fn with every value in b and its nested buckets.
func walkBucket(b *bolt.Bucket, fn func(v []byte)) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return walkBucket(b.Bucket(k), fn)
		}
		fn(v)
		return nil
	})
}
