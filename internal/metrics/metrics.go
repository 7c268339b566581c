package metrics

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

const namespace = "gatescreen"

// DeviceStates are the values of the gatescreen_device_state label "state";
// exactly one of them is 1 per device.
var DeviceStates = []string{event.HealthUp, event.HealthDegraded, event.HealthDown}

// verdicts indexes pipeline.Verdict values; VerdictNone is counted as "none"
// so that an unclassified measurement is visible rather than lost.
var verdicts = [...]pipeline.Verdict{
	pipeline.VerdictNone, pipeline.VerdictPass, pipeline.VerdictFlag,
	pipeline.VerdictRetake, pipeline.VerdictInvalid,
}

// Opts configures a Registry. Every callback is optional: a nil callback
// leaves its metric out. Callbacks run on the scrape goroutine and must be
// safe for concurrent use and quick.
type Opts struct {
	// Lanes are the configured lanes, indexed by Measurement.Lane; the
	// metrics name them by Name. Measurements on an index outside the list
	// are counted as "lane<N>".
	Lanes []pipeline.Lane
	// StoreSize returns the bbolt file size in bytes.
	StoreSize func() int64
	// OutboxDepth returns the events waiting for upload, urgent (cases,
	// health, flags) and bulk (normal readings).
	OutboxDepth func() (priority, bulk int)
	// RingOverflows returns the total measurements dropped per ring since
	// start, keyed by ring name (e.g. "storage", "screen").
	RingOverflows func() map[string]uint64
	// UnknownCards returns the badge swipes the roster did not know.
	UnknownCards func() uint64
	// DeviceAlarms returns, per device, the times its own alarm overruled
	// a pass (pipeline.DeviceStats.DeviceAlarms).
	DeviceAlarms func() map[string]uint64
	// DeviceFrames returns, per device, its frames by outcome: "valid" and
	// each reason the validate stage rejected one for ("checksum",
	// "out_of_range", "stuck", …), and what the driver lost before it was a
	// frame ("dropped", "timeout").
	DeviceFrames func() map[string]map[string]uint64
	// Uplink returns the MQTT uplink's counters.
	Uplink func() UplinkFigures
	// OldestPending returns the capture time of the oldest event not yet
	// acknowledged by the district (ok false when none waits).
	OldestPending func() (wall time.Time, ok bool)
	// ClockSynced reports whether the wall clock is synchronised (NTP).
	ClockSynced func() bool
	// StoreRoom returns the bytes the store file holds on disk and the bytes
	// its filesystem can still give it; MaxStoreSize is storage.max_size.
	StoreRoom    func() (allocated, free int64)
	MaxStoreSize int64
	// Version and Revision label gatescreen_build_info (with the Go
	// release), so a district can tell which boxes run which build.
	Version, Revision string
	// NoProcessMetrics leaves out the Go runtime and process collectors
	// (tests compare exact output).
	NoProcessMetrics bool
}

// Registry owns a prometheus.Registry with the daemon's collectors.
type Registry struct {
	reg      *prometheus.Registry
	lanes    []string
	readings *prometheus.CounterVec
	// byLane caches the counters of configured lanes so Consume neither
	// allocates nor hashes label values.
	byLane [][len(verdicts)]prometheus.Counter
	drills prometheus.Counter
	// bodyByLane caches each configured lane's temperature histogram.
	body       *prometheus.HistogramVec
	bodyByLane []prometheus.Observer
	openCases  prometheus.Gauge
	uplink     prometheus.Gauge
	devices    *prometheus.GaugeVec
}

// laneNames are the label values of the lanes, indexed like them.
func laneNames(lanes []pipeline.Lane) []string {
	names := make([]string, len(lanes))
	for i, l := range lanes {
		names[i] = l.Name
	}
	return names
}

// New registers the collectors.
func New(o Opts) (*Registry, error) {
	r := &Registry{
		reg:   prometheus.NewRegistry(),
		lanes: laneNames(o.Lanes),
		readings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "readings_total",
			Help: "Measurements classified, by lane and verdict (drills included).",
		}, []string{"lane", "verdict"}),
		body: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "body_temperature_celsius",
			Help: "Body temperatures measured (after compensation), by lane; drills and invalid readings left out.",
			// Around the threshold, where a district looks: 37.3 is a bound.
			Buckets: []float64{35, 35.5, 36, 36.5, 37, 37.3, 37.5, 38, 38.5, 39, 40},
		}, []string{"lane"}),
		drills: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "drill_readings_total",
			Help: "Measurements caused by emergency drills.",
		}),
		openCases: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "recheck_cases_open",
			Help: "Re-check cases not yet cleared or closed.",
		}),
		uplink: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "uplink_connected",
			Help: "1 while the MQTT uplink to the district is connected.",
		}),
		devices: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "device_state",
			Help: "1 for the current state (up, degraded, down) of each device.",
		}, []string{"device", "state"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels name the build the box runs.",
		ConstLabels: prometheus.Labels{"version": o.Version, "revision": o.Revision, "goversion": runtime.Version()},
	})
	build.Set(1)
	cs := []prometheus.Collector{r.readings, r.body, r.drills, r.openCases, r.uplink, r.devices, build}
	cs = append(cs, optionalCollectors(o)...)
	if o.StoreSize != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "store_size_bytes",
			Help: "Size of the bbolt event store file.",
		}, func() float64 { return float64(o.StoreSize()) }))
	}
	if o.OutboxDepth != nil {
		cs = append(cs, &outboxCollector{depth: o.OutboxDepth})
	}
	if o.RingOverflows != nil {
		cs = append(cs, &counterCollector{desc: overflowDesc, totals: o.RingOverflows})
	}
	if o.DeviceAlarms != nil {
		cs = append(cs, &counterCollector{desc: deviceAlarmDesc, totals: o.DeviceAlarms})
	}
	if o.UnknownCards != nil {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Name: "unknown_cards_total",
			Help: "Badge swipes of cards not in the roster.",
		}, func() float64 { return float64(o.UnknownCards()) }))
	}
	if !o.NoProcessMetrics {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := r.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register collector: %w", err)
		}
	}
	r.byLane = make([][len(verdicts)]prometheus.Counter, len(r.lanes))
	r.bodyByLane = make([]prometheus.Observer, len(r.lanes))
	for i, lane := range r.lanes {
		r.bodyByLane[i] = r.body.WithLabelValues(lane)
		for j, v := range verdicts {
			r.byLane[i][j] = r.readings.WithLabelValues(lane, v.String())
		}
	}
	return r, nil
}

// Gatherer is what /metrics serves.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Consume counts one measurement; Registry is a pipeline.Sink.
func (r *Registry) Consume(m *pipeline.Measurement) {
	if m.Drill {
		r.drills.Inc()
	} else if int(m.Lane) < len(r.bodyByLane) && m.Verdict != pipeline.VerdictInvalid && !math.IsNaN(m.BodyC) {
		r.bodyByLane[m.Lane].Observe(m.BodyC)
	}
	if int(m.Lane) < len(r.byLane) && int(m.Verdict) < len(verdicts) {
		r.byLane[m.Lane][m.Verdict].Inc()
		return
	}
	r.readings.WithLabelValues(fmt.Sprintf("lane%d", m.Lane), m.Verdict.String()).Inc()
}

// SetOpenCases sets the number of open re-check cases.
func (r *Registry) SetOpenCases(n int) { r.openCases.Set(float64(n)) }

// SetUplinkConnected records whether the MQTT uplink is connected.
func (r *Registry) SetUplinkConnected(ok bool) {
	if ok {
		r.uplink.Set(1)
		return
	}
	r.uplink.Set(0)
}

// SetDeviceState records a device's state: up, degraded or down. Any other
// state (e.g. "warning" from a calibration check) counts as degraded.
func (r *Registry) SetDeviceState(device, state string) {
	if state != event.HealthUp && state != event.HealthDown {
		state = event.HealthDegraded
	}
	for _, s := range DeviceStates {
		v := 0.0
		if s == state {
			v = 1
		}
		r.devices.WithLabelValues(device, s).Set(v)
	}
}

// Health feeds a health event: device states and the uplink component.
func (r *Registry) Health(h event.Health) {
	switch h.Component {
	case "device":
		if h.Device != "" {
			r.SetDeviceState(h.Device, h.State)
		}
	case "uplink":
		r.SetUplinkConnected(h.State == event.HealthUp || h.State == event.HealthOK)
	}
}

var (
	outboxDesc = prometheus.NewDesc(namespace+"_outbox_depth",
		"Events waiting for upload, by queue (priority: cases, flags, health; bulk: readings).",
		[]string{"queue"}, nil)
	overflowDesc = prometheus.NewDesc(namespace+"_ring_overflows_total",
		"Measurements dropped because a sink's ring was full, by ring.",
		[]string{"ring"}, nil)
	deviceAlarmDesc = prometheus.NewDesc(namespace+"_device_alarm_overrules_total",
		"Measurements that would have passed but the device raised its own alarm (retake device_alarm), by device.",
		[]string{"device"}, nil)
)

type outboxCollector struct{ depth func() (int, int) }

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	p, b := c.depth()
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(p), "priority")
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(b), "bulk")
}

// counterCollector reports a map of totals as a counter with one label.
type counterCollector struct {
	desc   *prometheus.Desc
	totals func() map[string]uint64
}

func (c *counterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *counterCollector) Collect(ch chan<- prometheus.Metric) {
	for label, n := range c.totals() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), label)
	}
}

var _ pipeline.Sink = (*Registry)(nil)
