package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/internal/poll"
	"github.com/gatescreen/gatescreen/pipeline"
)

// A calibration averages what the sensor read off the reference, stores the
// record and applies the correction to the next readings at once.
func TestCalibrationFromReadings(t *testing.T) {
	g := reportGate(t)
	g.hub = &healthHub{log: zerolog.Nop()}
	g.devices = []pipeline.DeviceInfo{{Name: "ir1", Mode: pipeline.ModeSkin, OffsetC: 0.9}}
	g.lanes = []pipeline.LaneInfo{{Name: "lane-1", Role: "student", Device: 0, Badge: -1}}
	g.calib = newCalibrator(g)
	var err error
	if g.pipe, err = pipeline.New(pipeline.Opts{Devices: g.devices, Lanes: g.lanes}); err != nil {
		t.Fatal(err)
	}
	last := &lastReading{}
	g.pipe.AddSink("calibration", 64, g.calib)
	g.pipe.AddSink("last", 64, last)
	g.pipe.Start(context.Background())
	defer g.pipe.Close()

	if _, err := g.calib.run(context.Background(), "nope", 37, 5, time.Second); err == nil {
		t.Fatal("calibrated a device that does not exist")
	}
	type result struct {
		offset float64
		id     uint64
		err    error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := g.calib.run(context.Background(), "ir1", 37.0, 5, 10*time.Second)
		done <- result{rec.OffsetC, rec.ID, err}
	}()
	emit := g.pipe.Producer(0)
	for _, raw := range []float64{36.1, 36.2, 36.3, 36.2, 36.2} { // the blackbody, presented five times
		waitUntil(t, func() bool { return g.calib.device.Load() == 0 })
		emit(drivers.NewTemperature(raw, 22, 0))
		time.Sleep(20 * time.Millisecond)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.offset != 0.8 || res.id == 0 {
		t.Fatalf("offset %v id %d, want 0.8 and a stored record", res.offset, res.id)
	}
	recs, err := g.store.Calibrations()
	if err != nil || recs["ir1"].OffsetC != 0.8 || recs["ir1"].SpreadC != 0.2 {
		t.Fatalf("stored %+v %v", recs, err)
	}
	// The next reading of 36.0 is compensated by skin offset + correction.
	emit(drivers.NewTemperature(36.0, 22, 0))
	waitUntil(t, func() bool { m, ok := last.get(); return ok && m.RawC == 36.0 })
	if m, _ := last.get(); m.BodyC < 37.69 || m.BodyC > 37.71 || m.CalibrationID != res.id {
		t.Fatalf("after calibration: body %v calibration %d", m.BodyC, m.CalibrationID)
	}
}

type lastReading struct {
	mu sync.Mutex
	m  pipeline.Measurement
	ok bool
}

func (l *lastReading) Consume(m *pipeline.Measurement) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m, l.ok = *m, true
}

func (l *lastReading) get() (pipeline.Measurement, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m, l.ok
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	poll.Until(t, 10*time.Second, "the condition", cond)
}
