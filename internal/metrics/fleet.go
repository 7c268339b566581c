package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UplinkFigures are the uplink's counters since start (sync/uplink.Status).
type UplinkFigures struct {
	Connected bool
	// Connects counts successful connections: more than one is a reconnect.
	Connects uint64
	// Messages and Events count publishes; Acked counts events the broker
	// acknowledged (PUBACK), removed from the outbox.
	Messages, Events, Acked uint64
	// Unconfirmed counts events published without a PUBACK on their
	// connection (sent again).
	Unconfirmed uint64
	// LastAck is when the broker last acknowledged an event; zero if never.
	LastAck time.Time
}

func gauge(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, f)
}

func counter(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, f)
}

// optionalCollectors are the figures a district scrapes across its fleet:
// is the box delivering, how far behind is it, is its clock right, how full
// is its card. Each is left out when its callback is.
func optionalCollectors(o Opts) []prometheus.Collector {
	var cs []prometheus.Collector
	if frames := o.DeviceFrames; frames != nil {
		cs = append(cs, &framesCollector{frames: frames})
	}
	if up := o.Uplink; up != nil {
		cs = append(cs,
			counter("uplink_connects_total", "Successful connections to the district broker (reconnects are the increase beyond 1).",
				func() float64 { return float64(up().Connects) }),
			counter("uplink_messages_published_total", "MQTT messages published to the district.",
				func() float64 { return float64(up().Messages) }),
			counter("uplink_events_published_total", "Events published to the district (a batch carries many).",
				func() float64 { return float64(up().Events) }),
			counter("uplink_events_acked_total", "Events the district broker acknowledged (PUBACK) and the outbox let go.",
				func() float64 { return float64(up().Acked) }),
			counter("uplink_events_unconfirmed_total", "Events published whose acknowledgement never came on their connection; sent again.",
				func() float64 { return float64(up().Unconfirmed) }),
			gauge("uplink_last_ack_timestamp_seconds", "Unix time of the district broker's last acknowledgement; 0 if none since start.",
				func() float64 { return unixSeconds(up().LastAck) }),
		)
	}
	if oldest := o.OldestPending; oldest != nil {
		cs = append(cs, gauge("outbox_oldest_age_seconds", "Age of the oldest event the district has not acknowledged; 0 when nothing waits.",
			func() float64 {
				t, ok := oldest()
				if !ok {
					return 0
				}
				return max(time.Since(t).Seconds(), 0)
			}))
	}
	if synced := o.ClockSynced; synced != nil {
		cs = append(cs, gauge("clock_synced", "1 while the wall clock is synchronised (NTP); events stamped meanwhile carry clock_synced false.",
			func() float64 { return bool01(synced()) }))
	}
	if room := o.StoreRoom; room != nil {
		cs = append(cs,
			gauge("store_allocated_bytes", "Bytes the store file holds on the card (bbolt grows it sparsely).",
				func() float64 { a, _ := room(); return float64(a) }),
			gauge("store_filesystem_free_bytes", "Bytes the store's filesystem can still give it.",
				func() float64 { _, f := room(); return float64(f) }))
	}
	if o.MaxStoreSize > 0 {
		size := float64(o.MaxStoreSize)
		cs = append(cs, gauge("store_max_size_bytes", "storage.max_size: the store never grows beyond it.", func() float64 { return size }))
	}
	return cs
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var framesDesc = prometheus.NewDesc(namespace+"_device_frames_total",
	"Frames each device sent, by outcome: valid, why the pipeline rejected it (checksum, out_of_range, malformed, status, nan, stuck, …), or what the driver lost before it was a frame (dropped: unreadable input; timeout: an unanswered poll).",
	[]string{"device", "outcome"}, nil)

type framesCollector struct {
	frames func() map[string]map[string]uint64
}

func (c *framesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- framesDesc }

func (c *framesCollector) Collect(ch chan<- prometheus.Metric) {
	for device, byOutcome := range c.frames() {
		for outcome, n := range byOutcome {
			ch <- prometheus.MustNewConstMetric(framesDesc, prometheus.CounterValue, float64(n), device, outcome)
		}
	}
}
