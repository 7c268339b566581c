package pipeline

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
)

func started(t *testing.T, o Opts, sinks map[string]Sink) *Pipeline {
	t.Helper()
	o.Logger = zerolog.Nop()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range sinks {
		p.AddSink(name, 0, s)
	}
	p.Start(context.Background())
	t.Cleanup(p.Close)
	return p
}

func gate() Opts {
	return Opts{
		Devices: []DeviceInfo{{Name: "gun1"}, {Name: "gun2"}, {Name: "doctor"}},
		Lanes: []Lane{
			{Name: "L1", Role: "student", Device: 0, Badge: -1},
			{Name: "L2", Role: "staff", Device: 1, Badge: -1},
			{Name: "R", Role: "recheck", Device: 2, Badge: -1},
		},
	}
}

func TestReloadTakesEffectForNextReading(t *testing.T) {
	rec := newRecorder()
	p := started(t, gate(), map[string]Sink{"rec": rec})
	emit := p.Producer(0)
	emit(temp(37.0, 22))
	if m := rec.wait(t, 1)[0]; m.Verdict != VerdictPass {
		t.Fatalf("37.0 at 37.3: %v, want pass", m.Verdict)
	}
	p.Reload(Params{ThresholdC: 36.9})
	emit(temp(37.0, 22))
	if m := rec.wait(t, 2)[1]; m.Verdict != VerdictFlag || m.ThresholdC != 36.9 {
		t.Fatalf("37.0 at 36.9: %v (threshold %v), want flag", m.Verdict, m.ThresholdC)
	}
}

func TestLanesSnapshotAndStats(t *testing.T) {
	rec := newRecorder()
	p := started(t, gate(), map[string]Sink{"rec": rec})
	if st := p.Lanes()[0]; st.Verdict != VerdictNone || st.Name != "L1" {
		t.Errorf("before any reading: %+v", st)
	}
	r := temp(37.8, 22)
	r.Mono, r.Wall = 5, 1_700_000_000_000_000_000
	p.Producer(0)(r)
	p.Producer(1)(temp(36.4, 22))
	rec.wait(t, 2)
	waitFor(t, func() bool { return p.Stats().Lanes[1].Pass == 1 })
	ls := p.Lanes()
	if ls[0].Verdict != VerdictFlag || ls[0].BodyC != 37.8 || ls[0].Mono != 5 || ls[0].Wall != r.Wall {
		t.Errorf("L1 = %+v", ls[0])
	}
	if ls[1].Verdict != VerdictPass || ls[1].Role != "staff" {
		t.Errorf("L2 = %+v", ls[1])
	}
	st := p.Stats()
	if st.Lanes[0].Flag != 1 || st.Lanes[1].Pass != 1 || st.Devices[0].Readings != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestIdlePipelineParks(t *testing.T) {
	rec := newRecorder()
	p := started(t, gate(), map[string]Sink{"rec": rec})
	p.Producer(0)(temp(36.5, 22))
	rec.wait(t, 1)
	deadline := time.Now().Add(10 * time.Second)
	for !p.wake.sleeping.Load() || !p.sinks[0].wake.sleeping.Load() {
		if time.Now().After(deadline) {
			t.Fatal("stage or sink still spinning after 10 s idle")
		}
		time.Sleep(time.Millisecond)
	}
	// And a parked pipeline wakes for the next reading.
	p.Producer(0)(temp(36.6, 22))
	rec.wait(t, 2)
}

func TestCloseDrainsEverything(t *testing.T) {
	var n atomic.Int64
	o := gate()
	o.Logger = zerolog.Nop()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	p.AddSink("slowish", 1024, SinkFunc(func(*Measurement) {
		time.Sleep(10 * time.Microsecond)
		n.Add(1)
	}))
	p.Start(context.Background())
	emit := p.Producer(0)
	for i := range 500 {
		emit(temp(35.0+float64(i%40)/10, 22))
	}
	p.Close()
	if n.Load() != 500 {
		t.Fatalf("sink saw %d of 500 after Close", n.Load())
	}
	p.Close() // idempotent
}

func TestContextCancelStops(t *testing.T) {
	o := gate()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	p.AddSink("rec", 0, rec)
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	p.Producer(0)(temp(36.5, 22))
	rec.wait(t, 1)
	cancel()
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close after cancel did not return")
	}
}

func TestOverflowReportedAsHealth(t *testing.T) {
	var mu sync.Mutex
	var got []event.Health
	o := gate()
	o.RingSize = 4
	o.HealthEvery = time.Millisecond
	o.OnHealth = func(h event.Health) {
		mu.Lock()
		got = append(got, h)
		mu.Unlock()
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	p.AddSink("stuck", 2, SinkFunc(func(*Measurement) { <-release }))
	rec := newRecorder()
	p.AddSink("fast", 1024, rec)
	// Before Start nobody consumes: 10 readings into 4 slots drop 6.
	emit := p.Producer(0)
	for i := range 10 {
		emit(temp(36.0+float64(i)/10, 22))
	}
	p.Start(context.Background())
	// The stuck sink reads one in place (its slot stays taken), queues one and
	// drops two; the fast sink gets every one: it has its own ring.
	rec.wait(t, 4)
	close(release)
	p.Close()
	want := map[string]uint64{"ring_overflow:device:gun1": 6, "ring_overflow:sink:stuck": 2}
	mu.Lock()
	defer mu.Unlock()
	sum := map[string]uint64{}
	for _, h := range got {
		if h.Component != "pipeline" || h.State != event.HealthWarning || !strings.HasPrefix(h.Reason, "ring_overflow:") {
			t.Errorf("unexpected health %+v", h)
		}
		sum[h.Reason] += h.Count
	}
	for reason, n := range want {
		if sum[reason] != n {
			t.Errorf("%s: reported %d, want %d (all: %v)", reason, sum[reason], n, got)
		}
	}
	if st := p.Stats(); st.Overflows["device:gun1"] != 6 {
		t.Errorf("stats overflows %v", st.Overflows)
	}
}

func TestInjectDrill(t *testing.T) {
	rec := newRecorder()
	p := started(t, gate(), map[string]Sink{"rec": rec})
	if err := p.Inject(0, temp(38.2, 22), true); err != nil {
		t.Fatal(err)
	}
	m := rec.wait(t, 1)[0]
	if !m.Drill || m.Verdict != VerdictFlag || m.Lane != 0 || m.Device != 0 {
		t.Errorf("drill measurement %+v", m)
	}
	waitFor(t, func() bool { return p.Stats().Lanes[0].Drills == 1 })
	st := p.Stats()
	if st.Lanes[0].Drills != 1 || st.Lanes[0].Flag != 0 {
		t.Errorf("drills must be counted apart: %+v", st.Lanes[0])
	}
	if err := p.Inject(7, temp(36, 22), false); err == nil {
		t.Error("inject on a missing lane: want an error")
	}
}

func TestSlowSinkNeverDelaysOthers(t *testing.T) {
	release := make(chan struct{})
	p, err := New(gate())
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	p.AddSink("rec", 1<<12, rec)
	p.AddSink("blocked", 1024, SinkFunc(func(*Measurement) { <-release }))
	p.Start(context.Background())
	defer p.Close()
	defer close(release)
	for i := range 2000 { // more than the blocked sink's ring holds
		r := temp(35.0+float64(i%40)/10, 22)
		pushRetry(p, 0, &r)
	}
	if got := len(rec.wait(t, 2000)); got != 2000 {
		t.Fatalf("fast sink got %d", got)
	}
	if n := p.Stats().Overflows["sink:blocked"]; n == 0 {
		t.Error("the blocked sink's ring did not overflow: the test proves nothing")
	}
}

func TestProducerRejectsUnknownDevice(t *testing.T) {
	p, err := New(gate())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Producer(99): want a panic")
		}
	}()
	p.Producer(99)
}

// pushRetry is a producer that waits for room instead of dropping, for tests
// that must not lose a reading at the input.
func pushRetry(p *Pipeline, device uint16, r *drivers.Reading) {
	r.Device = device
	for !p.inputs[device].tryPush(r) {
		runtime.Gosched()
	}
}

// deviceFilter is a Sink that only wants one device's measurements.
type deviceFilter struct {
	*recorder
	device uint16
}

func (f deviceFilter) Wants(m *Measurement) bool { return m.Device == f.device }

func TestFilterSinkGetsOnlyWhatItWants(t *testing.T) {
	o := gate()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	only := deviceFilter{newRecorder(), 1}
	all := newRecorder()
	p.AddSink("gun2-only", 64, only)
	p.AddSink("all", 0, all)
	p.Start(context.Background())
	for i := range 20 {
		r := temp(36.0+float64(i%5)/10, 22)
		pushRetry(p, uint16(i%2), &r)
	}
	all.wait(t, 20)
	p.Close()
	got := only.wait(t, 10)
	if len(got) != 10 {
		t.Fatalf("filtered sink got %d, want 10", len(got))
	}
	for _, m := range got {
		if m.Device != 1 {
			t.Errorf("filtered sink got device %d", m.Device)
		}
	}
}

// DeviceOf reads what the stages need from a device's description once:
// the mode parsed, the idle value unpointed.
func TestDeviceOf(t *testing.T) {
	idle := 23.0
	got, err := DeviceOf(drivers.Device{Name: "gy", Mode: "skin", OffsetC: 2.2, Gain: 0.98, IdleC: &idle}, true)
	want := DeviceInfo{Name: "gy", Continuous: true, Idle: true, IdleC: 23, Mode: ModeSkin, OffsetC: 2.2, Gain: 0.98}
	if err != nil || got != want {
		t.Fatalf("skin stream: %+v, %v; want %+v", got, err, want)
	}
	for _, mode := range []string{"", "body"} {
		if got, err := DeviceOf(drivers.Device{Name: "gun", Mode: mode}, false); err != nil || got != (DeviceInfo{Name: "gun", Mode: ModeBody}) {
			t.Errorf("mode %q: %+v, %v", mode, got, err)
		}
	}
	if _, err := DeviceOf(drivers.Device{Name: "gun", Mode: "Skin"}, false); err == nil || !strings.Contains(err.Error(), "device gun") {
		t.Errorf("mode Skin: %v, want an error naming the device", err)
	}
}

// goid is the current goroutine's id, from its stack header.
func goid() string {
	var b [64]byte
	s := strings.TrimPrefix(string(b[:runtime.Stack(b[:], false)]), "goroutine ")
	return s[:strings.IndexByte(s, ' ')]
}

// stageProbe is a ring sink whose Wants (run by the stage goroutine)
// records that goroutine.
type stageProbe struct {
	*recorder
	stage atomic.Value
}

func (s *stageProbe) Wants(*Measurement) bool { s.stage.Store(goid()); return true }

// An inline sink runs on the stage goroutine, gets every measurement in
// order, and is not held up by a blocked ring sink.
func TestInlineSinkRunsOnTheStage(t *testing.T) {
	release := make(chan struct{})
	p, err := New(gate())
	if err != nil {
		t.Fatal(err)
	}
	probe := &stageProbe{recorder: newRecorder()}
	var mu sync.Mutex
	var got []float64
	var ran []string
	p.AddSink("probe", 1<<12, probe)
	p.AddSink("blocked", 64, SinkFunc(func(*Measurement) { <-release }))
	p.AddInlineSink("inline", SinkFunc(func(m *Measurement) {
		mu.Lock()
		defer mu.Unlock()
		got, ran = append(got, m.BodyC), append(ran, goid())
	}))
	only := deviceFilter{newRecorder(), 1}
	p.AddInlineSink("inline-filtered", only)
	p.Start(context.Background())
	for i := range 500 {
		r := temp(35.0+float64(i%40)/10, 22)
		pushRetry(p, uint16(i%2), &r)
	}
	want := probe.wait(t, 500)
	if n := p.Stats().Overflows["sink:blocked"]; n == 0 {
		t.Error("the blocked sink's ring did not overflow: the test proves nothing")
	}
	close(release)
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("inline sink got %d measurements, the ring sink %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i].BodyC {
			t.Fatalf("measurement %d: inline %v, ring %v", i, got[i], want[i].BodyC)
		}
	}
	if stage := probe.stage.Load(); ran[0] != stage || ran[len(ran)-1] != stage {
		t.Errorf("inline sink ran on goroutines %s…%s, the stage is %v", ran[0], ran[len(ran)-1], stage)
	}
	filtered := only.wait(t, 250)
	if len(filtered) != 250 {
		t.Errorf("filtered inline sink got %d, want 250", len(filtered))
	}
	for _, m := range filtered {
		if m.Device != 1 {
			t.Fatalf("filtered inline sink got device %d", m.Device)
		}
	}
}
