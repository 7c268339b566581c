package metrics

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescreen/gatescreen/pipeline"
)

// The figures a district scrapes across its fleet, from the callbacks.
func TestFleetFigures(t *testing.T) {
	lastAck := time.Unix(1796281484, 500_000_000)
	r := newTestRegistry(t, Opts{
		Lanes: lanesNamed("A"),
		Uplink: func() UplinkFigures {
			return UplinkFigures{Connected: true, Connects: 3, Messages: 40, Events: 900, Acked: 880, Unconfirmed: 20, LastAck: lastAck}
		},
		OldestPending: func() (time.Time, bool) { return time.Now().Add(-90 * time.Second), true },
		ClockSynced:   func() bool { return false },
		StoreRoom:     func() (int64, int64) { return 8 << 20, 3 << 30 },
		MaxStoreSize:  256 << 20,
	})
	want := `
# HELP gatescreen_clock_synced 1 while the wall clock is synchronised (NTP); events stamped meanwhile carry clock_synced false.
# TYPE gatescreen_clock_synced gauge
gatescreen_clock_synced 0
# HELP gatescreen_store_allocated_bytes Bytes the store file holds on the card (bbolt grows it sparsely).
# TYPE gatescreen_store_allocated_bytes gauge
gatescreen_store_allocated_bytes 8.388608e+06
# HELP gatescreen_store_filesystem_free_bytes Bytes the store's filesystem can still give it.
# TYPE gatescreen_store_filesystem_free_bytes gauge
gatescreen_store_filesystem_free_bytes 3.221225472e+09
# HELP gatescreen_store_max_size_bytes storage.max_size: the store never grows beyond it.
# TYPE gatescreen_store_max_size_bytes gauge
gatescreen_store_max_size_bytes 2.68435456e+08
# HELP gatescreen_uplink_connects_total Successful connections to the district broker (reconnects are the increase beyond 1).
# TYPE gatescreen_uplink_connects_total counter
gatescreen_uplink_connects_total 3
# HELP gatescreen_uplink_events_acked_total Events the district broker acknowledged (PUBACK) and the outbox let go.
# TYPE gatescreen_uplink_events_acked_total counter
gatescreen_uplink_events_acked_total 880
# HELP gatescreen_uplink_events_published_total Events published to the district (a batch carries many).
# TYPE gatescreen_uplink_events_published_total counter
gatescreen_uplink_events_published_total 900
# HELP gatescreen_uplink_events_unconfirmed_total Events published whose acknowledgement never came on their connection; sent again.
# TYPE gatescreen_uplink_events_unconfirmed_total counter
gatescreen_uplink_events_unconfirmed_total 20
# HELP gatescreen_uplink_last_ack_timestamp_seconds Unix time of the district broker's last acknowledgement; 0 if none since start.
# TYPE gatescreen_uplink_last_ack_timestamp_seconds gauge
gatescreen_uplink_last_ack_timestamp_seconds 1.7962814845e+09
# HELP gatescreen_uplink_messages_published_total MQTT messages published to the district.
# TYPE gatescreen_uplink_messages_published_total counter
gatescreen_uplink_messages_published_total 40
`
	names := []string{"gatescreen_clock_synced", "gatescreen_store_allocated_bytes", "gatescreen_store_filesystem_free_bytes",
		"gatescreen_store_max_size_bytes", "gatescreen_uplink_connects_total", "gatescreen_uplink_events_acked_total",
		"gatescreen_uplink_events_published_total", "gatescreen_uplink_events_unconfirmed_total",
		"gatescreen_uplink_last_ack_timestamp_seconds", "gatescreen_uplink_messages_published_total"}
	if err := testutil.GatherAndCompare(r.Gatherer(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	mfs, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gatescreen_outbox_oldest_age_seconds" {
			if age := mf.GetMetric()[0].GetGauge().GetValue(); age < 89 || age > 120 {
				t.Errorf("oldest pending event 90 s old: gauge %v", age)
			}
			return
		}
	}
	t.Error("no gatescreen_outbox_oldest_age_seconds")
}

// Body temperatures per lane: passes and flags counted in their buckets,
// drills and invalid readings left out.
func TestBodyTemperatureHistogram(t *testing.T) {
	r := newTestRegistry(t, Opts{Lanes: lanesNamed("A", "B")})
	for _, m := range []pipeline.Measurement{
		{Lane: 0, Verdict: pipeline.VerdictPass, BodyC: 36.75},
		{Lane: 0, Verdict: pipeline.VerdictFlag, BodyC: 38.25},
		{Lane: 0, Verdict: pipeline.VerdictFlag, BodyC: 38.4, Drill: true},
		{Lane: 1, Verdict: pipeline.VerdictInvalid, BodyC: math.NaN()},
		{Lane: 1, Verdict: pipeline.VerdictRetake, BodyC: 34.25},
	} {
		r.Consume(&m)
	}
	want := `
# HELP gatescreen_body_temperature_celsius Body temperatures measured (after compensation), by lane; drills and invalid readings left out.
# TYPE gatescreen_body_temperature_celsius histogram
gatescreen_body_temperature_celsius_bucket{lane="A",le="35"} 0
gatescreen_body_temperature_celsius_bucket{lane="A",le="35.5"} 0
gatescreen_body_temperature_celsius_bucket{lane="A",le="36"} 0
gatescreen_body_temperature_celsius_bucket{lane="A",le="36.5"} 0
gatescreen_body_temperature_celsius_bucket{lane="A",le="37"} 1
gatescreen_body_temperature_celsius_bucket{lane="A",le="37.3"} 1
gatescreen_body_temperature_celsius_bucket{lane="A",le="37.5"} 1
gatescreen_body_temperature_celsius_bucket{lane="A",le="38"} 1
gatescreen_body_temperature_celsius_bucket{lane="A",le="38.5"} 2
gatescreen_body_temperature_celsius_bucket{lane="A",le="39"} 2
gatescreen_body_temperature_celsius_bucket{lane="A",le="40"} 2
gatescreen_body_temperature_celsius_bucket{lane="A",le="+Inf"} 2
gatescreen_body_temperature_celsius_sum{lane="A"} 75
gatescreen_body_temperature_celsius_count{lane="A"} 2
gatescreen_body_temperature_celsius_bucket{lane="B",le="35"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="35.5"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="36"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="36.5"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="37"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="37.3"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="37.5"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="38"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="38.5"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="39"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="40"} 1
gatescreen_body_temperature_celsius_bucket{lane="B",le="+Inf"} 1
gatescreen_body_temperature_celsius_sum{lane="B"} 34.25
gatescreen_body_temperature_celsius_count{lane="B"} 1
`
	if err := testutil.GatherAndCompare(r.Gatherer(), strings.NewReader(want), "gatescreen_body_temperature_celsius"); err != nil {
		t.Fatal(err)
	}
}

// What `promtool check metrics` checks (client_golang's promlint, the same
// linter): names, units, help, counter suffixes; every collector the daemon
// registers, process collectors too.
func TestMetricsLintClean(t *testing.T) {
	r, err := New(Opts{
		Lanes: lanesNamed("A"), StoreSize: func() int64 { return 1 }, OutboxDepth: func() (int, int) { return 0, 0 },
		RingOverflows: func() map[string]uint64 { return map[string]uint64{"x": 1} },
		UnknownCards:  func() uint64 { return 0 }, DeviceAlarms: func() map[string]uint64 { return map[string]uint64{"d": 0} },
		DeviceFrames: func() map[string]map[string]uint64 { return map[string]map[string]uint64{"d": {"valid": 3}} },
		Uplink:       func() UplinkFigures { return UplinkFigures{} }, OldestPending: func() (time.Time, bool) { return time.Time{}, false },
		ClockSynced: func() bool { return true }, StoreRoom: func() (int64, int64) { return 0, 0 }, MaxStoreSize: 1,
		Version: "v1", Revision: "abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	r.SetDeviceState("d", "up")
	r.Consume(&pipeline.Measurement{Verdict: pipeline.VerdictPass, BodyC: 36.5})
	problems, err := testutil.GatherAndLint(r.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// Frames per device by outcome, as the pipeline counted them.
func TestDeviceFrames(t *testing.T) {
	r := newTestRegistry(t, Opts{DeviceFrames: func() map[string]map[string]uint64 {
		return map[string]map[string]uint64{"gun-1": {"valid": 120, "checksum": 3}, "gate-1": {"valid": 80, "timeout": 7}}
	}})
	want := `
# HELP gatescreen_device_frames_total Frames each device sent, by outcome: valid, why the pipeline rejected it (checksum, out_of_range, malformed, status, nan, stuck, …), or what the driver lost before it was a frame (dropped: unreadable input; timeout: an unanswered poll).
# TYPE gatescreen_device_frames_total counter
gatescreen_device_frames_total{device="gate-1",outcome="timeout"} 7
gatescreen_device_frames_total{device="gate-1",outcome="valid"} 80
gatescreen_device_frames_total{device="gun-1",outcome="checksum"} 3
gatescreen_device_frames_total{device="gun-1",outcome="valid"} 120
`
	if err := testutil.GatherAndCompare(r.Gatherer(), strings.NewReader(want), "gatescreen_device_frames_total"); err != nil {
		t.Fatal(err)
	}
}
