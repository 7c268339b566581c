package metrics

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// lanesNamed are lanes that only have a name, all the metrics read.
func lanesNamed(names ...string) []pipeline.Lane {
	lanes := make([]pipeline.Lane, len(names))
	for i, n := range names {
		lanes[i].Name = n
	}
	return lanes
}

func newTestRegistry(t *testing.T, o Opts) *Registry {
	t.Helper()
	o.NoProcessMetrics = true
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConsumeCountsByLaneAndVerdict(t *testing.T) {
	r := newTestRegistry(t, Opts{Lanes: lanesNamed("A", "B")})
	for _, m := range []pipeline.Measurement{
		{Lane: 0, Verdict: pipeline.VerdictPass},
		{Lane: 0, Verdict: pipeline.VerdictPass},
		{Lane: 1, Verdict: pipeline.VerdictFlag},
		{Lane: 1, Verdict: pipeline.VerdictRetake, Drill: true},
		{Lane: 7, Verdict: pipeline.VerdictInvalid},
	} {
		r.Consume(&m)
	}
	checks := []struct {
		lane, verdict string
		want          float64
	}{
		{"A", "pass", 2}, {"A", "flag", 0}, {"B", "flag", 1}, {"B", "retake", 1}, {"lane7", "invalid", 1},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(r.readings.WithLabelValues(c.lane, c.verdict)); got != c.want {
			t.Errorf("readings{lane=%q,verdict=%q} = %v, want %v", c.lane, c.verdict, got, c.want)
		}
	}
	if got := testutil.ToFloat64(r.drills); got != 1 {
		t.Errorf("drill readings = %v, want 1", got)
	}
}

func TestGatherCallbacksAndStates(t *testing.T) {
	r := newTestRegistry(t, Opts{
		Lanes:         lanesNamed("A"),
		StoreSize:     func() int64 { return 4096 },
		OutboxDepth:   func() (int, int) { return 3, 120 },
		RingOverflows: func() map[string]uint64 { return map[string]uint64{"screen": 9} },
		UnknownCards:  func() uint64 { return 4 },
		DeviceAlarms:  func() map[string]uint64 { return map[string]uint64{"gate1": 2} },
	})
	r.SetOpenCases(2)
	r.Health(event.Health{Component: "uplink", State: event.HealthUp})
	r.Health(event.Health{Component: "device", Device: "gun1", State: event.HealthDown, Reason: "no data"})
	r.SetDeviceState("gate1", event.HealthWarning)

	want := `
# HELP gatescreen_device_alarm_overrules_total Measurements that would have passed but the device raised its own alarm (retake device_alarm), by device.
# TYPE gatescreen_device_alarm_overrules_total counter
gatescreen_device_alarm_overrules_total{device="gate1"} 2
# HELP gatescreen_device_state 1 for the current state (up, degraded, down) of each device.
# TYPE gatescreen_device_state gauge
gatescreen_device_state{device="gate1",state="degraded"} 1
gatescreen_device_state{device="gate1",state="down"} 0
gatescreen_device_state{device="gate1",state="up"} 0
gatescreen_device_state{device="gun1",state="degraded"} 0
gatescreen_device_state{device="gun1",state="down"} 1
gatescreen_device_state{device="gun1",state="up"} 0
# HELP gatescreen_outbox_depth Events waiting for upload, by queue (priority: cases, flags, health; bulk: readings).
# TYPE gatescreen_outbox_depth gauge
gatescreen_outbox_depth{queue="bulk"} 120
gatescreen_outbox_depth{queue="priority"} 3
# HELP gatescreen_recheck_cases_open Re-check cases not yet cleared or closed.
# TYPE gatescreen_recheck_cases_open gauge
gatescreen_recheck_cases_open 2
# HELP gatescreen_ring_overflows_total Measurements dropped because a sink's ring was full, by ring.
# TYPE gatescreen_ring_overflows_total counter
gatescreen_ring_overflows_total{ring="screen"} 9
# HELP gatescreen_store_size_bytes Size of the bbolt event store file.
# TYPE gatescreen_store_size_bytes gauge
gatescreen_store_size_bytes 4096
# HELP gatescreen_unknown_cards_total Badge swipes of cards not in the roster.
# TYPE gatescreen_unknown_cards_total counter
gatescreen_unknown_cards_total 4
# HELP gatescreen_uplink_connected 1 while the MQTT uplink to the district is connected.
# TYPE gatescreen_uplink_connected gauge
gatescreen_uplink_connected 1
`
	names := []string{"gatescreen_device_alarm_overrules_total", "gatescreen_device_state", "gatescreen_outbox_depth", "gatescreen_recheck_cases_open",
		"gatescreen_ring_overflows_total", "gatescreen_store_size_bytes", "gatescreen_unknown_cards_total", "gatescreen_uplink_connected"}
	if err := testutil.GatherAndCompare(r.Gatherer(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}

	r.Health(event.Health{Component: "uplink", State: event.HealthDown})
	if got := testutil.ToFloat64(r.uplink); got != 0 {
		t.Errorf("uplink after down = %v, want 0", got)
	}
}

func TestOptionalCollectorsLeftOut(t *testing.T) {
	r := newTestRegistry(t, Opts{})
	n, err := testutil.GatherAndCount(r.Gatherer(), "gatescreen_store_size_bytes", "gatescreen_outbox_depth")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("got %d series for unset callbacks, want 0", n)
	}
}

func TestProcessCollectorsRegistered(t *testing.T) {
	r, err := New(Opts{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(r.Gatherer(), "go_goroutines")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("go_goroutines series = %d, want 1", n)
	}
}

// BenchmarkConsume compares the cached per-lane counters with the label
// lookup a naive sink would do on every measurement (the baseline).
func BenchmarkConsume(b *testing.B) {
	r, err := New(Opts{Lanes: lanesNamed("A", "B", "C", "staff"), NoProcessMetrics: true})
	if err != nil {
		b.Fatal(err)
	}
	m := pipeline.Measurement{Lane: 2, Verdict: pipeline.VerdictPass}
	b.Run("baseline_with_label_values", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.readings.WithLabelValues("C", m.Verdict.String()).Inc()
		}
	})
	b.Run("consume", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Consume(&m)
		}
	})
}

// A district tells which boxes run which build from gatescreen_build_info.
func TestBuildInfo(t *testing.T) {
	r := newTestRegistry(t, Opts{Version: "v1.4.0", Revision: "0123456789abcdef"})
	want := `
# HELP gatescreen_build_info Always 1; the labels name the build the box runs.
# TYPE gatescreen_build_info gauge
gatescreen_build_info{goversion="` + runtime.Version() + `",revision="0123456789abcdef",version="v1.4.0"} 1
`
	if err := testutil.GatherAndCompare(r.Gatherer(), strings.NewReader(want), "gatescreen_build_info"); err != nil {
		t.Fatal(err)
	}
}
