package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
)

// calibrator collects the raw values a device reads off a reference source
// (a blackbody at a known temperature), one per presentation, then stores a
// calibration record and applies its correction. It is a pipeline sink whose
// filter passes nothing unless a calibration is running.
type calibrator struct {
	g *gate
	// device is read by Wants on the stage goroutine: an atomic, -1 when
	// no calibration runs. mu guards the rest and serialises calibrations.
	device  atomic.Int32
	mu      sync.Mutex
	samples []float64
	done    chan struct{}
	want    int
}

func newCalibrator(g *gate) *calibrator {
	c := &calibrator{g: g}
	c.device.Store(-1)
	return c
}

// Wants costs the stage goroutine one atomic load.
func (c *calibrator) Wants(m *pipeline.Measurement) bool {
	return c.device.Load() == int32(m.Device) && !math.IsNaN(m.RawC) && m.Verdict != pipeline.VerdictInvalid
}

func (c *calibrator) Consume(m *pipeline.Measurement) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.device.Load() != int32(m.Device) || len(c.samples) >= c.want {
		return
	}
	c.samples = append(c.samples, m.RawC)
	if len(c.samples) == c.want {
		close(c.done)
	}
}

// run samples device n times within timeout and applies the result.
func (c *calibrator) run(ctx context.Context, device string, referenceC float64, n int, timeout time.Duration) (event.Calibration, error) {
	idx := -1
	for i, d := range c.g.devices {
		if d.Name == device {
			idx = i
		}
	}
	switch {
	case idx < 0:
		return event.Calibration{}, fmt.Errorf("calibrate: no device %q", device)
	case c.g.devices[idx].Mode != pipeline.ModeSkin:
		return event.Calibration{}, fmt.Errorf("calibrate: device %s reports body temperature (mode: body); calibration corrects skin sensors (mode: skin)", device)
	case referenceC < 30 || referenceC > 45:
		return event.Calibration{}, fmt.Errorf("calibrate: reference %.2f °C is not a body-temperature reference (30–45 °C)", referenceC)
	}
	if n < school.MinCalibrationSamples {
		n = school.MinCalibrationSamples
	}
	c.mu.Lock()
	if c.device.Load() >= 0 {
		c.mu.Unlock()
		return event.Calibration{}, errors.New("calibrate: another calibration is running")
	}
	done := make(chan struct{})
	c.samples, c.want, c.done = nil, n, done
	c.device.Store(int32(idx))
	c.mu.Unlock()
	defer c.device.Store(-1)

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		c.mu.Lock()
		got := len(c.samples)
		c.mu.Unlock()
		return event.Calibration{}, fmt.Errorf("calibrate: %s gave %d of %d readings of the reference in %v", device, got, n, timeout)
	}
	c.mu.Lock()
	samples := append([]float64(nil), c.samples...)
	c.mu.Unlock()

	offset, mean, spread, err := school.Calibrate(referenceC, samples)
	if err != nil {
		return event.Calibration{}, err
	}
	rec := event.Calibration{Device: device, ReferenceC: referenceC, Samples: samples, MeanC: mean,
		SpreadC: spread, OffsetC: offset, At: c.g.now().UnixNano()}
	ev, err := event.New(event.KindCalibration, rec)
	if err != nil {
		return rec, err
	}
	c.g.stamp(&ev)
	ev.Urgent = true
	seq, err := c.g.store.AppendWait(ctx, ev)
	if err != nil {
		return rec, fmt.Errorf("calibrate: storing the record: %w", err)
	}
	rec.ID = seq
	dev := c.g.devices[idx]
	if err := c.g.pipe.SetCompensation(uint16(idx), pipeline.Compensation{
		Mode: dev.Mode, OffsetC: dev.OffsetC + offset, Gain: dev.Gain, CalibrationID: seq,
	}); err != nil {
		return rec, err
	}
	if spread > c.g.cfg.Calibration.MaxSpreadC {
		c.g.hub.report(event.Health{Component: "calibration", Device: device, State: event.HealthWarning,
			Reason: fmt.Sprintf("spread %.2f °C wider than %.2f °C: hold the device steady and repeat", spread, c.g.cfg.Calibration.MaxSpreadC)})
	}
	c.g.log.Info().Str("device", device).Float64("reference_c", referenceC).Float64("offset_c", offset).
		Float64("spread_c", spread).Uint64("record", seq).Msg("calibration applied")
	return rec, nil
}
