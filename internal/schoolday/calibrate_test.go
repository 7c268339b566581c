package schoolday

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/storage"
)

// A calibration averages what the sensor read off the reference, stores the
// record and applies the correction to the next readings at once.
func TestCalibrationFromReadings(t *testing.T) {
	g, last := calibGate(t)
	if _, err := g.calib.Calibrate(context.Background(), "nope", 37, 5, time.Second); err == nil {
		t.Fatal("calibrated a device that does not exist")
	}
	type result struct {
		offset float64
		id     uint64
		err    error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := g.calib.Calibrate(context.Background(), "ir1", 37.0, 5, 10*time.Second)
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

// calibFixture is a calibrator of one skin sensor (configured offset
// 0.9) on one lane, its pipeline running, with a last-reading sink.
type calibFixture struct {
	calib   *Calibrator
	pipe    *pipeline.Pipeline
	store   *storage.Store
	devices []pipeline.DeviceInfo
}

func calibGate(t *testing.T) (*calibFixture, *lastReading) {
	t.Helper()
	office := reportOffice(t)
	g := &calibFixture{store: office.store,
		devices: []pipeline.DeviceInfo{{Name: "ir1", Mode: pipeline.ModeSkin, OffsetC: 0.9}}}
	lanes := []pipeline.Lane{{Name: "lane-1", Role: "student", Device: 0, Badge: -1}}
	var err error
	if g.pipe, err = pipeline.New(pipeline.Opts{Devices: g.devices, Lanes: lanes}); err != nil {
		t.Fatal(err)
	}
	g.calib = NewCalibrator(CalibratorOpts{Devices: g.devices, Store: g.store, Pipeline: g.pipe,
		Stamp: func(ev *event.Event) { ev.Wall = time.Now().UnixNano() }, MaxSpreadC: office.cfg.Calibration.MaxSpreadC, MaxOffsetC: config.MaxOffsetC, Logger: zerolog.Nop()})
	last := &lastReading{}
	g.pipe.AddSink("calibration", 64, g.calib)
	g.pipe.AddSink("last", 64, last)
	g.pipe.Start(context.Background())
	t.Cleanup(g.pipe.Close)
	return g, last
}

// calibrateWith runs a calibration of ir1 against referenceC and presents
// the raw values to it, one per reading.
func calibrateWith(t *testing.T, g *calibFixture, referenceC float64, raws ...float64) (event.Calibration, error) {
	t.Helper()
	type result struct {
		rec event.Calibration
		err error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := g.calib.Calibrate(context.Background(), "ir1", referenceC, len(raws), 10*time.Second)
		done <- result{rec, err}
	}()
	emit := g.pipe.Producer(0)
	for _, raw := range raws {
		waitUntil(t, func() bool { return g.calib.device.Load() == 0 })
		emit(drivers.NewTemperature(raw, 22, 0))
		time.Sleep(20 * time.Millisecond)
	}
	res := <-done
	return res.rec, res.err
}

// bodyOf sends one raw reading through ir1 and returns its measurement.
func bodyOf(t *testing.T, g *calibFixture, last *lastReading, raw float64) pipeline.Measurement {
	t.Helper()
	g.pipe.Producer(0)(drivers.NewTemperature(raw, 22, 0))
	waitUntil(t, func() bool { m, ok := last.get(); return ok && m.RawC == raw })
	m, _ := last.get()
	return m
}

// A reference far from what the sensor reads (30 °C against 37.0) would
// need a correction of −7 °C, outside the −5…5 °C of offset_c: applied, a
// 38.8 °C skin reading became a retake instead of a flag. It is refused,
// nothing is stored, and the compensation in force stays.
func TestCalibrationOutsideOffsetRangeRefused(t *testing.T) {
	g, last := calibGate(t)
	_, err := calibrateWith(t, g, 30, 37.0, 37.0, 37.0, 37.0, 37.0)
	if err == nil {
		t.Fatal("a correction of −7 °C was accepted")
	}
	if !strings.Contains(err.Error(), "offset_c") || !strings.Contains(err.Error(), "校准") {
		t.Errorf("the refusal does not say why in zh-CN and English: %v", err)
	}
	if recs, err := g.store.Calibrations(); err != nil || len(recs) != 0 {
		t.Fatalf("a refused calibration was stored: %+v %v", recs, err)
	}
	if m := bodyOf(t, g, last, 38.8); m.Verdict != pipeline.VerdictFlag || m.CalibrationID != 0 || m.OffsetC != 0.9 {
		t.Fatalf("38.8 °C skin after a refused calibration: %v %v offset %v calibration %d",
			m.Verdict, m.Reason, m.OffsetC, m.CalibrationID)
	}
}

// A correction inside the range that would push the applied offset_c out
// of it (configured 0.9 + 4.5) is refused too.
func TestCalibrationAppliedOffsetBounded(t *testing.T) {
	g, _ := calibGate(t)
	if _, err := calibrateWith(t, g, 41.5, 37.0, 37.0, 37.0, 37.0, 37.0); err == nil {
		t.Fatal("an applied offset of 5.4 °C was accepted")
	}
}

// Samples spread wider than calibration.max_spread_c (the device was not
// held still): refused, not stored, not applied. The demo's 2.36 °C spread
// moved the offset 0.9 → 1.63 and exited 0 before.
func TestCalibrationWideSpreadRefused(t *testing.T) {
	g, last := calibGate(t)
	_, err := calibrateWith(t, g, 37.0, 35.0, 36.2, 37.36, 36.1, 36.3)
	if err == nil {
		t.Fatal("a spread of 2.36 °C was accepted")
	}
	if !strings.Contains(err.Error(), "max_spread_c") || !strings.Contains(err.Error(), "校准") {
		t.Errorf("the refusal does not say why in zh-CN and English: %v", err)
	}
	if recs, err := g.store.Calibrations(); err != nil || len(recs) != 0 {
		t.Fatalf("a refused calibration was stored: %+v %v", recs, err)
	}
	if m := bodyOf(t, g, last, 36.0); m.OffsetC != 0.9 || m.CalibrationID != 0 {
		t.Fatalf("a refused calibration was applied: offset %v calibration %d", m.OffsetC, m.CalibrationID)
	}
}

// The spread limit is inclusive: five samples 0.30 °C apart are accepted.
func TestCalibrationSpreadAtLimitAccepted(t *testing.T) {
	g, _ := calibGate(t)
	if _, err := calibrateWith(t, g, 37.0, 36.0, 36.3, 36.15, 36.15, 36.15); err != nil {
		t.Fatal(err)
	}
}

// undo restores the calibration in force before the last one, step by
// step back to the configured offset, and each step is a stored record
// whose id the readings carry.
func TestCalibrationUndo(t *testing.T) {
	g, last := calibGate(t)
	if _, err := g.calib.Undo(context.Background(), "ir1"); err == nil {
		t.Fatal("undid a calibration that never happened")
	}
	first, err := calibrateWith(t, g, 37.0, 36.1, 36.2, 36.3, 36.2, 36.2) // +0.8
	if err != nil {
		t.Fatal(err)
	}
	second, err := calibrateWith(t, g, 37.0, 36.5, 36.5, 36.5, 36.5, 36.5) // +0.5
	if err != nil {
		t.Fatal(err)
	}
	if m := bodyOf(t, g, last, 36.0); !near(m.OffsetC, 1.4) || m.CalibrationID != second.ID {
		t.Fatalf("after the second calibration: offset %v calibration %d (want 1.4, %d)", m.OffsetC, m.CalibrationID, second.ID)
	}
	u1, err := g.calib.Undo(context.Background(), "ir1")
	if err != nil {
		t.Fatal(err)
	}
	if u1.OffsetC != first.OffsetC || u1.Undoes != second.ID || u1.Restores != first.ID {
		t.Fatalf("first undo: %+v", u1)
	}
	if u1.At <= second.At { // it carried the restored record's time
		t.Errorf("the undo record is dated %v, before the calibration it undoes (%v)", u1.At.Time(), second.At.Time())
	}
	recs, _ := g.store.Calibrations()
	if recs["ir1"].ID != u1.ID || recs["ir1"].OffsetC != 0.8 {
		t.Fatalf("stored after undo: %+v, want id %d", recs["ir1"], u1.ID)
	}
	if m := bodyOf(t, g, last, 36.1); !near(m.OffsetC, 1.7) || m.CalibrationID != u1.ID {
		t.Fatalf("after the first undo: offset %v calibration %d (want 1.7, %d)", m.OffsetC, m.CalibrationID, u1.ID)
	}
	if _, err := g.calib.Undo(context.Background(), "ir1"); err != nil {
		t.Fatal(err)
	}
	if m := bodyOf(t, g, last, 36.2); !near(m.OffsetC, 0.9) {
		t.Fatalf("after the second undo: offset %v, want the configured 0.9", m.OffsetC)
	}
	if _, err := g.calib.Undo(context.Background(), "ir1"); err == nil {
		t.Fatal("undid past the configured offset")
	}
}

// An undo restores a correction only if it still passes today's limits: the
// configured offset_c moved to 4.5 by a reload, restoring +0.8 would apply
// 5.3 °C, outside ±5. It is refused and the calibration in force stays.
func TestCalibrationUndoKeepsTodaysBound(t *testing.T) {
	g, last := calibGate(t)
	if _, err := calibrateWith(t, g, 37.0, 36.1, 36.2, 36.3, 36.2, 36.2); err != nil { // +0.8
		t.Fatal(err)
	}
	second, err := calibrateWith(t, g, 37.0, 36.5, 36.5, 36.5, 36.5, 36.5) // +0.5
	if err != nil {
		t.Fatal(err)
	}
	g.devices[0].OffsetC = 4.5
	_, err = g.calib.Undo(context.Background(), "ir1")
	if err == nil || !strings.Contains(err.Error(), "offset_c") || !strings.Contains(err.Error(), "无法撤销") {
		t.Fatalf("undo to an applied 5.3 °C: %v, want a refusal naming offset_c in zh-CN and English", err)
	}
	if recs, _ := g.store.Calibrations(); recs["ir1"].ID != second.ID {
		t.Fatalf("after a refused undo the record in force is %d, want %d", recs["ir1"].ID, second.ID)
	}
	if m := bodyOf(t, g, last, 36.0); m.CalibrationID != second.ID || !near(m.OffsetC, 1.4) {
		t.Fatalf("after a refused undo: offset %v calibration %d, want 1.4, %d", m.OffsetC, m.CalibrationID, second.ID)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
