package schoolday

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
)

// CalibrationStore is what a calibration reads and writes in the store.
type CalibrationStore interface {
	Calibrations() (map[string]event.Calibration, error)
	AppendWait(ctx context.Context, ev event.Event) (uint64, error)
	ScanAfter(after uint64, from, to time.Time, fn func(event.Event) error) error
}

// Compensator puts a device's correction in force.
type Compensator interface {
	SetCompensation(device uint16, c pipeline.Compensation) error
}

// CalibratorOpts configures NewCalibrator.
type CalibratorOpts struct {
	// Devices is the pipeline's device table; required.
	Devices []pipeline.DeviceInfo
	// Store and Pipeline are required.
	Store    CalibrationStore
	Pipeline Compensator
	// Stamp stamps the stored records; required.
	Stamp func(*event.Event)
	// Now is the daemon's wall clock; default time.Now.
	Now func() time.Time
	// MaxSpreadC and MaxOffsetC bound a correction put in force
	// (calibration.max_spread_c; the range of devices[].offset_c).
	MaxSpreadC, MaxOffsetC float64
	Logger                 zerolog.Logger
}

// Calibrator collects the raw values a device reads off a reference source
// (a blackbody at a known temperature), one per presentation, then stores a
// calibration record and applies its correction. It is a pipeline sink whose
// filter passes nothing unless a calibration is running.
type Calibrator struct {
	o CalibratorOpts
	// device is read by Wants on the stage goroutine: an atomic, -1 when
	// no calibration runs. mu guards the rest and serialises calibrations.
	device  atomic.Int32
	mu      sync.Mutex
	samples []float64
	done    chan struct{}
	want    int
}

// NewCalibrator returns a calibrator with no calibration running.
func NewCalibrator(o CalibratorOpts) *Calibrator {
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Calibrator{o: o}
	c.device.Store(-1)
	return c
}

// Wants costs the stage goroutine one atomic load.
func (c *Calibrator) Wants(m *pipeline.Measurement) bool {
	return c.device.Load() == int32(m.Device) && !math.IsNaN(m.RawC) && m.Verdict != pipeline.VerdictInvalid
}

func (c *Calibrator) Consume(m *pipeline.Measurement) {
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

// Calibrate samples device n times (at least school.MinCalibrationSamples)
// within timeout, and stores and applies the result if it passes the
// limits.
func (c *Calibrator) Calibrate(ctx context.Context, device string, referenceC float64, n int, timeout time.Duration) (event.Calibration, error) {
	idx := -1
	for i, d := range c.o.Devices {
		if d.Name == device {
			idx = i
		}
	}
	switch {
	case idx < 0:
		return event.Calibration{}, fmt.Errorf("calibrate: no device %q", device)
	case c.o.Devices[idx].Mode != pipeline.ModeSkin:
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
	dev := c.o.Devices[idx]
	if err := school.Check(referenceC, samples, offset, spread, dev.OffsetC, c.limits()); err != nil {
		c.o.Logger.Warn().Str("device", device).Float64("reference_c", referenceC).Float64("offset_c", offset).
			Float64("spread_c", spread).Err(err).Msg("calibration refused")
		return event.Calibration{}, err
	}
	prev, err := c.current(device)
	if err != nil {
		return event.Calibration{}, err
	}
	rec := event.Calibration{Device: device, ReferenceC: referenceC, Samples: samples, MeanC: mean,
		SpreadC: spread, OffsetC: offset, At: event.TimeOf(c.o.Now()), PreviousID: prev.ID, PreviousOffsetC: prev.OffsetC}
	if err := c.apply(ctx, idx, &rec); err != nil {
		return rec, err
	}
	c.o.Logger.Info().Str("device", device).Float64("reference_c", referenceC).Float64("offset_c", offset).
		Float64("spread_c", spread).Uint64("record", rec.ID).Msg("calibration applied")
	return rec, nil
}

// limits are the bounds a correction in force must keep, from the
// configuration in force.
func (c *Calibrator) limits() school.Limits {
	return school.Limits{MaxSpreadC: c.o.MaxSpreadC, MaxOffsetC: c.o.MaxOffsetC}
}

// current returns the device's calibration record in force; ID 0 when it
// runs on its configured offset.
func (c *Calibrator) current(device string) (event.Calibration, error) {
	recs, err := c.o.Store.Calibrations()
	if err != nil {
		return event.Calibration{}, fmt.Errorf("calibrate %s: %w", device, err)
	}
	return recs[device], nil
}

// apply stores rec, names it by the sequence the store gave it, and puts
// its correction in force: the record exists before any reading cites it.
func (c *Calibrator) apply(ctx context.Context, idx int, rec *event.Calibration) error {
	ev, err := event.New(event.KindCalibration, rec)
	if err != nil {
		return err
	}
	c.o.Stamp(&ev)
	ev.Urgent = true
	seq, err := c.o.Store.AppendWait(ctx, ev)
	if err != nil {
		return fmt.Errorf("calibrate %s: storing the record: %w", rec.Device, err)
	}
	rec.ID = seq
	dev := c.o.Devices[idx]
	return c.o.Pipeline.SetCompensation(uint16(idx), pipeline.Compensation{
		Mode: dev.Mode, OffsetC: dev.OffsetC + rec.OffsetC, Gain: dev.Gain, CalibrationID: seq,
	})
}

// errFound stops the scan for one record.
var errFound = errors.New("found")

// Undo withdraws the device's calibration in force and restores the one
// before it (or the configured offset), as a new record: the history stays
// stored and uploaded, and readings cite the record that restored it.
func (c *Calibrator) Undo(ctx context.Context, device string) (event.Calibration, error) {
	idx := slices.IndexFunc(c.o.Devices, func(d pipeline.DeviceInfo) bool { return d.Name == device })
	if idx < 0 {
		return event.Calibration{}, fmt.Errorf("calibrate: no device %q", device)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.device.Load() >= 0 {
		return event.Calibration{}, errors.New("calibrate: another calibration is running")
	}
	cur, err := c.current(device)
	if err != nil {
		return event.Calibration{}, err
	}
	if cur.ID == 0 || (cur.PreviousID == 0 && cur.Restores == 0 && cur.Undoes != 0) {
		return event.Calibration{}, fmt.Errorf("没有可撤销的校准：%s 使用配置的 offset_c / nothing to undo: %s runs on its configured offset_c", device, device)
	}
	rec := event.Calibration{Device: device, At: event.TimeOf(c.o.Now()), Undoes: cur.ID, Restores: cur.PreviousID}
	if cur.PreviousID != 0 {
		var prev event.Calibration
		err := c.o.Store.ScanAfter(cur.PreviousID-1, time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64), func(ev event.Event) error {
			if ev.Seq == cur.PreviousID && ev.Kind == event.KindCalibration {
				if err := ev.Decode(&prev); err != nil {
					return err
				}
				prev.ID = ev.Seq
			}
			return errFound
		})
		if err != nil && !errors.Is(err, errFound) {
			return event.Calibration{}, fmt.Errorf("calibrate %s: reading record %d: %w", device, cur.PreviousID, err)
		}
		if prev.ID == 0 {
			return event.Calibration{}, fmt.Errorf("无法撤销：上一次校准记录 %d 已不在存储中 / cannot undo: the previous calibration record %d of %s is no longer stored", cur.PreviousID, cur.PreviousID, device)
		}
		// The restored correction must still pass today's limits: offset_c
		// or max_spread_c may have changed by a reload since it was made.
		if err := school.Check(prev.ReferenceC, prev.Samples, prev.OffsetC, prev.SpreadC, c.o.Devices[idx].OffsetC, c.limits()); err != nil {
			return event.Calibration{}, fmt.Errorf("无法撤销：恢复校准记录 %d 不再符合当前配置 / cannot undo: restoring calibration record %d of %s fails today's limits: %w", prev.ID, prev.ID, device, err)
		}
		// At stays the undo's own time: the record is made now.
		rec.ReferenceC, rec.Samples, rec.MeanC, rec.SpreadC, rec.OffsetC = prev.ReferenceC, prev.Samples, prev.MeanC, prev.SpreadC, prev.OffsetC
		rec.PreviousID, rec.PreviousOffsetC = prev.PreviousID, prev.PreviousOffsetC
	}
	if err := c.apply(ctx, idx, &rec); err != nil {
		return rec, err
	}
	c.o.Logger.Info().Str("device", device).Uint64("undone", cur.ID).Uint64("restored", rec.Restores).
		Float64("offset_c", rec.OffsetC).Uint64("record", rec.ID).Msg("calibration undone")
	return rec, nil
}

// Restore puts each skin-mode device's stored calibration record
// (reference − mean of what it read) in force over its configured offset,
// once the store is open; the pipeline started from the configured
// compensation alone.
func (c *Calibrator) Restore() error {
	records, err := c.o.Store.Calibrations()
	if err != nil {
		return err
	}
	for i, d := range c.o.Devices {
		if rec, ok := records[d.Name]; ok && d.Mode == pipeline.ModeSkin {
			err := c.o.Pipeline.SetCompensation(uint16(i), pipeline.Compensation{
				Mode: d.Mode, OffsetC: d.OffsetC + rec.OffsetC, Gain: d.Gain, CalibrationID: rec.ID,
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
