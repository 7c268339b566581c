package pipeline

import (
	"time"
)

// Plausible human ranges of a device's raw value, by mode. A one-shot
// reading (or a continuous device's plateau) outside its range is invalid
// out_of_range: a hot cup, a wall or a sensor fault, never a person.
const (
	BodyMinC = 30.0
	BodyMaxC = 45.0
	SkinMinC = 25.0
	SkinMaxC = 43.0
)

// MaxRelativeWindow bounds Relative.Window so the running median lives in a
// fixed array per lane; the configuration refuses a larger window.
const MaxRelativeWindow = 256

// MaxStableWindow bounds Segment.StableWindow for the same reason.
const MaxStableWindow = 64

// Relative is the optional relative rule: a reading at or above the median
// of the lane's last passes plus DeltaC flags. The configuration's
// screening.relative decodes into it.
type Relative struct {
	Enabled bool `yaml:"enabled"`
	// DeltaC is how far above the median flags; default 1.0.
	DeltaC float64 `yaml:"delta_c"`
	// Window is the passes in the running median; default 50, at most
	// MaxRelativeWindow.
	Window int `yaml:"window"`
}

// Segment tunes how a continuous device's stream becomes one measurement
// per person. The configuration's screening.segment decodes into it.
type Segment struct {
	// PresenceDeltaC: a person is present while object − ambient exceeds
	// it; default 1.5.
	PresenceDeltaC float64 `yaml:"presence_delta_c"`
	// MinDwell: a presence shorter than this asks for a retake; default 500ms.
	MinDwell time.Duration `yaml:"min_dwell"`
	// StableWindow: samples in the plateau window; default 3, at most
	// MaxStableWindow.
	StableWindow int `yaml:"stable_window"`
	// StableSpreadC: the plateau window's max − min must stay within it;
	// default 0.3.
	StableSpreadC float64 `yaml:"stable_spread_c"`
}

// Params is the screening configuration in force. The pipeline holds it
// behind an atomic pointer: Reload swaps it and the next reading sees the new
// values. The zero value of every field means its default.
type Params struct {
	// ThresholdC flags a body temperature at or above it; default 37.3.
	ThresholdC float64
	// FloorC asks for a retake below it; default 35.0.
	FloorC float64
	// AmbientMinC/AmbientMaxC: ambient outside this window warns; default
	// 16–35 (used when both are zero).
	AmbientMinC, AmbientMaxC float64
	// Relative is the optional running-median rule; off by default.
	Relative Relative
	// Segment tunes continuous devices; defaults 1.5 °C, 500 ms, 3, 0.3 °C.
	Segment Segment
	// BadgeWindow pairs a badge within ± this of a measurement; default 3 s.
	BadgeWindow time.Duration
	// StuckCount: this many consecutive one-shot readings with the exact same
	// value are invalid stuck (from the last of them on); default 12. Healthy
	// people at 0.1 °C resolution share a value about a third of the time,
	// so 12 in a row happens about once in 10⁶ readings; 8 would be once a
	// day at a busy lane.
	StuckCount int
	// StuckFor: a continuous device whose object and ambient values do not
	// change at all for this long is frozen (invalid stuck); default 10 s.
	StuckFor time.Duration
	// Comp is the compensation per device, indexed like Opts.Devices. Nil in
	// Reload keeps the compensation in force (calibration records survive a
	// SIGHUP); New fills it from Opts.Devices.
	Comp []Compensation

	// Threshold and floor in hundredths, rounded once per reload.
	thresholdH, floorH int64
}

// Compensation turns a device's value into a body temperature.
type Compensation struct {
	Mode CompMode
	// OffsetC and Gain apply in ModeSkin: body = raw*Gain + OffsetC; Gain 0
	// means 1.
	OffsetC float64
	Gain    float64
	// CalibrationID names the calibration record the offset came from; 0
	// means the configured offset.
	CalibrationID uint64
}

// DefaultParams returns the values the zero fields of Params stand for
// (Comp apart: it comes from the devices).
func DefaultParams() Params {
	return Params{
		ThresholdC:  37.3,
		FloorC:      35.0,
		AmbientMinC: 16,
		AmbientMaxC: 35,
		Relative:    Relative{DeltaC: 1.0, Window: 50},
		Segment: Segment{
			PresenceDeltaC: 1.5,
			MinDwell:       500 * time.Millisecond,
			StableWindow:   3,
			StableSpreadC:  0.3,
		},
		BadgeWindow: 3 * time.Second,
		StuckCount:  12,
		StuckFor:    10 * time.Second,
	}
}

// withDefaults returns p with every zero field set to its default.
func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.ThresholdC == 0 {
		p.ThresholdC = d.ThresholdC
	}
	if p.FloorC == 0 {
		p.FloorC = d.FloorC
	}
	if p.AmbientMinC == 0 && p.AmbientMaxC == 0 {
		p.AmbientMinC, p.AmbientMaxC = d.AmbientMinC, d.AmbientMaxC
	}
	if p.Relative.DeltaC == 0 {
		p.Relative.DeltaC = d.Relative.DeltaC
	}
	if p.Relative.Window <= 0 {
		p.Relative.Window = d.Relative.Window
	}
	p.Relative.Window = min(p.Relative.Window, MaxRelativeWindow)
	if p.Segment.PresenceDeltaC == 0 {
		p.Segment.PresenceDeltaC = d.Segment.PresenceDeltaC
	}
	if p.Segment.MinDwell == 0 {
		p.Segment.MinDwell = d.Segment.MinDwell
	}
	if p.Segment.StableWindow <= 0 {
		p.Segment.StableWindow = d.Segment.StableWindow
	}
	p.Segment.StableWindow = min(p.Segment.StableWindow, MaxStableWindow)
	if p.Segment.StableSpreadC == 0 {
		p.Segment.StableSpreadC = d.Segment.StableSpreadC
	}
	if p.BadgeWindow == 0 {
		p.BadgeWindow = d.BadgeWindow
	}
	if p.StuckCount <= 0 {
		p.StuckCount = d.StuckCount
	}
	if p.StuckFor == 0 {
		p.StuckFor = d.StuckFor
	}
	p.thresholdH, p.floorH = hundredths(p.ThresholdC), hundredths(p.FloorC)
	return p
}

// comp returns the compensation of a device.
func (p *Params) comp(device uint16) Compensation {
	if int(device) < len(p.Comp) {
		return p.Comp[device]
	}
	return Compensation{}
}
