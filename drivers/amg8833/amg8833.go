package amg8833

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/i2c"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/thermal"
)

// Registers (datasheet, "Register map").
const (
	regPCTL   = 0x00
	regRST    = 0x01
	regFPSC   = 0x02
	regSTAT   = 0x04
	regSCLR   = 0x05
	regAVE    = 0x07
	regTTHL   = 0x0E
	regUnlock = 0x1F // write sequence that opens AVE for writing
	regPixels = 0x80
)

const (
	pctlNormal  = 0x00
	rstInitial  = 0x3F
	fps10       = 0x00
	fps1        = 0x01
	aveMAMOD    = 0x20 // twice moving average output
	statOvfIRS  = 0x04 // pixel temperature overflow
	statOvfTHS  = 0x08 // thermistor overflow
	sclrOvf     = statOvfIRS | statOvfTHS
	thermLSB    = 0.0625
	pixelLSB    = 0.25
	thermSign   = 0x800
	width       = 8
	height      = 8
	pixelBytes  = 2 * width * height
	statusBytes = 1
)

// Sensor start-up times (datasheet, "Timing"): communication is possible
// 50 ms after power-on, and output is stable 15 ms after a reset or mode
// change. The daemon opens the bus long after power-on; the reset wait is
// ours.
const settle = 15 * time.Millisecond

// Opts configures a Dev. The zero value of every field means its default.
type Opts struct {
	// Name identifies the device in errors and logs; default "amg8833@<addr>".
	Name string
	// Addr is the 7-bit address, 0x68 or 0x69; default 0x69 (AD_SELECT tied
	// high, as on most breakout boards).
	Addr uint16
	// RateHz is the frame rate, 1 or 10; default 10.
	RateHz float64
	// MovingAverage turns on the sensor's twice moving average, which halves
	// the noise at the cost of one frame of lag.
	MovingAverage bool
	// Logger receives configuration notices at debug level.
	Logger zerolog.Logger
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Addr: 0x69, RateHz: 10}

// Dev is one AMG8833 on an opened bus. ReadFrame must not be called
// concurrently: a Dev reuses its transfer buffers.
type Dev struct {
	bus    i2c.Bus
	name   string
	addr   uint16
	period time.Duration
	next   time.Time // when the sensor has its next frame
	w      [2]byte
	stat   [statusBytes]byte
	therm  [2]byte
	pix    [pixelBytes]byte
}

// New configures the AMG8833 at opts.Addr on bus: normal mode, initial
// reset, frame rate and moving-average mode. A missing sensor is an error
// naming the device.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	o := drivers.WithDefaults(opts, DefaultOpts)
	name, err := drivers.I2CName("amg8833", o.Name, o.Addr, bus)
	if err != nil {
		return nil, err
	}
	o.Name = name
	switch {
	case o.Addr != 0x68 && o.Addr != 0x69:
		return nil, fmt.Errorf("amg8833 %s: address %#x: the AMG8833 answers only at 0x68 or 0x69", o.Name, o.Addr)
	case o.RateHz != 1 && o.RateHz != 10:
		return nil, fmt.Errorf("amg8833 %s: rate %v Hz: the AMG8833 runs at 1 or 10 Hz", o.Name, o.RateHz)
	}
	d := &Dev{bus: bus, name: o.Name, addr: o.Addr, period: time.Duration(float64(time.Second) / o.RateHz)}
	fps := byte(fps10)
	if o.RateHz == 1 {
		fps = fps1
	}
	steps := [][2]byte{{regPCTL, pctlNormal}, {regRST, rstInitial}}
	for _, s := range steps {
		if err := d.write(s[0], s[1]); err != nil {
			return nil, err
		}
	}
	time.Sleep(settle)
	ave := [][2]byte{{regFPSC, fps}, {regUnlock, 0x50}, {regUnlock, 0x45}, {regUnlock, 0x57}, {regAVE, 0}, {regUnlock, 0x00}}
	if o.MovingAverage {
		ave[4][1] = aveMAMOD
	}
	for _, s := range ave {
		if err := d.write(s[0], s[1]); err != nil {
			return nil, err
		}
	}
	o.Logger.Debug().Str("device", d.name).Float64("rate_hz", o.RateHz).Bool("moving_average", o.MovingAverage).Msg("amg8833 configured")
	return d, nil
}

// String returns the device name.
func (d *Dev) String() string { return d.name }

// Period is the time between two frames at the configured rate.
func (d *Dev) Period() time.Duration { return d.period }

// NewFrame returns a frame the size of the sensor's, for ReadFrame.
func (d *Dev) NewFrame() *thermal.Frame { return thermal.NewFrame(width, height) }

// ReadFrame waits until the sensor has a new frame (one period after the
// previous read; the AMG8833 has no new-data flag), then reads the status,
// the thermistor and the pixels into f, which must be 8×8. An overflow bit
// in the status makes the frame invalid (drivers.FlagOutOfRange) and is
// cleared for the next frame; only a bus failure returns an error.
func (d *Dev) ReadFrame(f *thermal.Frame) error {
	if f.W != width || f.H != height || len(f.C) != width*height {
		return fmt.Errorf("amg8833 %s: frame is %d×%d, want 8×8", d.name, f.W, f.H)
	}
	now := time.Now()
	if wait := d.next.Sub(now); wait > 0 {
		time.Sleep(wait)
		now = d.next
	}
	d.next = now.Add(d.period)
	if err := d.read(regSTAT, d.stat[:]); err != nil {
		return err
	}
	if err := d.read(regTTHL, d.therm[:]); err != nil {
		return err
	}
	if err := d.read(regPixels, d.pix[:]); err != nil {
		return err
	}
	f.Flags = 0
	if d.stat[0]&(statOvfIRS|statOvfTHS) != 0 {
		f.Flags = drivers.FlagOutOfRange
		if err := d.write(regSCLR, sclrOvf); err != nil {
			return err
		}
	}
	f.AmbientC = thermistorC(uint16(d.therm[0]) | uint16(d.therm[1])<<8)
	for i := range f.C {
		f.C[i] = pixelC(uint16(d.pix[2*i]) | uint16(d.pix[2*i+1])<<8)
	}
	return nil
}

// thermistorC converts TTHL/TTHH: 12 bits sign-magnitude (bit 11 the sign),
// 0.0625 °C per LSB.
func thermistorC(w uint16) float64 {
	v := float64(w&(thermSign-1)) * thermLSB
	if w&thermSign != 0 {
		return -v
	}
	return v
}

// pixelC converts one pixel word: 12-bit two's complement, 0.25 °C per LSB.
func pixelC(w uint16) float64 {
	return float64(int16(w<<4)>>4) * pixelLSB
}

func (d *Dev) write(reg, v byte) error {
	d.w[0], d.w[1] = reg, v
	if err := d.bus.Tx(d.addr, d.w[:2], nil); err != nil {
		return fmt.Errorf("amg8833 %s: write register %#02x at %#x: %w", d.name, reg, d.addr, err)
	}
	return nil
}

func (d *Dev) read(reg byte, r []byte) error {
	d.w[0] = reg
	if err := d.bus.Tx(d.addr, d.w[:1], r); err != nil {
		return fmt.Errorf("amg8833 %s: read register %#02x at %#x: %w", d.name, reg, d.addr, err)
	}
	return nil
}

func init() {
	thermal.Register(thermal.ArrayDriver{
		Name:        "amg8833",
		AddressOK:   func(a uint16) bool { return a == 0 || a == 0x68 || a == 0x69 },
		AddressRule: "must be 0x68 or 0x69 (0 means 0x69)",
		RateOK:      func(hz float64) bool { return hz == 0 || hz == 1 || hz == 10 },
		RateRule:    "must be 1 or 10 (0 means 10)",
		Open: func(d drivers.Device, bus i2c.Bus) (thermal.Array, error) {
			return New(bus, &Opts{Name: d.Name, Addr: d.Address, RateHz: d.RateHz})
		},
	})
}

var _ thermal.Array = (*Dev)(nil)
