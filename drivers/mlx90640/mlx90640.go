package mlx90640

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/i2c"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/thermal"
)

// Registers (datasheet §10 "Internal registers").
const (
	regStatus  = 0x8000
	regControl = 0x800D
)

const (
	statusSubpage = 0x0001 // subpage of the last measurement
	statusNewData = 0x0008 // a new subpage is in RAM
	// statusAck clears the new-data bit and keeps RAM overwrite enabled
	// (bit 4) and the start bit (bit 5, only meaningful in step mode).
	statusAck = 0x0030

	ctrlRateShift = 7
	ctrlRateMask  = 0x7 << ctrlRateShift
	ctrlResShift  = 10
	ctrlChess     = 0x1000
)

// rates are the refresh rates of control register bits 9:7, in subpages per
// second; a whole image takes two subpages.
var rates = [...]float64{0.5, 1, 2, 4, 8, 16, 32, 64}

// maxReads bounds the reads of one subpage when the sensor finished the
// next one while RAM was being read: a bus too slow for the refresh rate.
const maxReads = 5

// Opts configures a Dev. The zero value of every field means its default.
type Opts struct {
	// Name identifies the device in errors and logs; default "mlx90640@<addr>".
	Name string
	// Addr is the 7-bit address; default 0x33 (factory setting).
	Addr uint16
	// RateHz is the refresh rate in subpages per second: 0.5, 1, 2, 4, 8 or
	// 16; default 4. Every ReadFrame returns one subpage, half of the pixels
	// (a chessboard or every other row) new. Up to 4 Hz works on a 100 kHz
	// bus; 8 and 16 Hz need 400 kHz (one subpage is 1,664 bytes, about
	// 38 ms at 400 kHz); 32 and 64 Hz need 1 MHz and are not offered.
	RateHz float64
	// Interleaved reads in the interleaved pattern (every other row) instead
	// of the chess pattern the part is calibrated in.
	Interleaved bool
	// Emissivity of the target; default 1, the datasheet's. Skin is about
	// 0.98; do not lower it to make a cold sensor read warm.
	Emissivity float64
	// ReflectedC is the temperature of the surroundings the target reflects;
	// nil means 8 °C below the sensor's Ta, Melexis's figure for a sensor
	// that runs warm in open air.
	ReflectedC *float64
	// Logger receives retry notices at debug level.
	Logger zerolog.Logger
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Addr: 0x33, RateHz: 4, Emissivity: 1}

// Dev is one MLX90640 on an opened bus. ReadFrame must not be called
// concurrently: a Dev reuses its buffers, so a frame allocates nothing.
type Dev struct {
	bus        i2c.Bus
	name       string
	addr       uint16
	period     time.Duration
	chess      bool
	resolution int
	emissivity float64
	reflectedC *float64
	log        zerolog.Logger
	cal        *params
	ram        [ramLen]uint16
	ramBytes   [2 * ramLen]byte
	w          [4]byte
	r          [2]byte
}

// New reads the EEPROM once, restores the calibration parameters and sets
// the refresh rate and reading pattern in the control register. A sensor
// that does not answer, or answers with a blank EEPROM, is an error naming
// the device.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	o := drivers.WithDefaults(opts, DefaultOpts)
	name, err := drivers.I2CName("mlx90640", o.Name, o.Addr, bus)
	if err != nil {
		return nil, err
	}
	o.Name = name
	rate := -1
	for i, r := range rates[:6] {
		if r == o.RateHz {
			rate = i
		}
	}
	switch {
	case o.Addr == 0 || o.Addr > 0x7F:
		return nil, fmt.Errorf("mlx90640 %s: address %#x is not a 7-bit address", o.Name, o.Addr)
	case rate < 0:
		return nil, fmt.Errorf("mlx90640 %s: rate %v Hz: want 0.5, 1, 2, 4, 8 or 16", o.Name, o.RateHz)
	case !(o.Emissivity > 0 && o.Emissivity <= 1):
		return nil, fmt.Errorf("mlx90640 %s: emissivity %v: want 0 < ε ≤ 1", o.Name, o.Emissivity)
	}
	d := &Dev{
		bus: bus, name: o.Name, addr: o.Addr, chess: !o.Interleaved,
		period:     time.Duration(float64(time.Second) / o.RateHz),
		emissivity: o.Emissivity, reflectedC: o.ReflectedC, log: o.Logger,
	}
	var ee [eepromLen]uint16
	if err := d.readWords(eepromAddr, ee[:], d.ramBytes[:]); err != nil {
		return nil, err
	}
	cal, err := extract(&ee)
	if err != nil {
		return nil, fmt.Errorf("mlx90640 %s: %w", d.name, err)
	}
	d.cal = cal
	ctrl, err := d.readReg(regControl)
	if err != nil {
		return nil, err
	}
	ctrl = ctrl&^(ctrlRateMask|ctrlChess) | uint16(rate)<<ctrlRateShift
	if d.chess {
		ctrl |= ctrlChess
	}
	if err := d.writeReg(regControl, ctrl); err != nil {
		return nil, err
	}
	d.resolution = int(ctrl>>ctrlResShift) & 0x3
	return d, nil
}

// String returns the device name.
func (d *Dev) String() string { return d.name }

// Period is the time between two subpages at the configured rate.
func (d *Dev) Period() time.Duration { return d.period }

// NewFrame returns a 32×24 frame for ReadFrame, every pixel NaN until its
// subpage has been read.
func (d *Dev) NewFrame() *thermal.Frame {
	f := thermal.NewFrame(width, height)
	for i := range f.C {
		f.C[i] = math.NaN()
	}
	return f
}

// ReadFrame waits for the next subpage (at most two periods), reads it and
// updates its half of f's pixels, which must be 32×24. Pixels the EEPROM
// marks as failed are NaN. A supply voltage or die temperature outside the
// sensor's range makes the frame invalid (drivers.FlagSensorError); a bus
// failure, or a bus too slow for the refresh rate, returns an error.
func (d *Dev) ReadFrame(f *thermal.Frame) error {
	if f.W != width || f.H != height || len(f.C) != pixels {
		return fmt.Errorf("mlx90640 %s: frame is %d×%d, want 32×24", d.name, f.W, f.H)
	}
	sp, err := d.readSubpage()
	if err != nil {
		return err
	}
	d.compute(f, sp)
	return nil
}

// readSubpage polls the status register for new data, then reads the RAM
// again until no newer subpage arrived while it was being read.
func (d *Dev) readSubpage() (int, error) {
	deadline := time.Now().Add(2*d.period + 100*time.Millisecond)
	sp, reads := 0, 0
	for {
		st, err := d.readReg(regStatus)
		if err != nil {
			return 0, err
		}
		if st&statusNewData == 0 {
			if reads > 0 {
				return sp, nil // the RAM holds one whole subpage
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("mlx90640 %s: no new subpage within %v", d.name, 2*d.period)
			}
			time.Sleep(d.period / 8)
			continue
		}
		if reads == maxReads {
			return 0, fmt.Errorf("mlx90640 %s: a new subpage arrived during each of %d RAM reads: the I²C bus is too slow for %v subpages/s", d.name, maxReads, time.Second.Seconds()/d.period.Seconds())
		}
		if reads > 0 {
			d.log.Debug().Str("device", d.name).Int("reads", reads).Msg("mlx90640 subpage changed during read")
		}
		if err := d.writeReg(regStatus, statusAck); err != nil {
			return 0, err
		}
		if err := d.readWords(ramAddr, d.ram[:], d.ramBytes[:]); err != nil {
			return 0, err
		}
		sp, reads = int(st&statusSubpage), reads+1
	}
}

// compute converts subpage sp, held in the Dev's copy of the RAM, into
// object temperatures in f.
func (d *Dev) compute(f *thermal.Frame, sp int) {
	s := d.cal.prepare(&d.ram, d.resolution, d.chess, d.emissivity, d.reflectedC)
	f.AmbientC, f.Flags = s.ta, 0
	if !(s.vdd > 2.9 && s.vdd < 3.7) || !(s.ta > -40 && s.ta < 85) || math.IsInf(s.gain, 0) {
		f.Flags = drivers.FlagSensorError
	}
	for i := range pixels {
		if pattern(i, d.chess) != sp {
			continue
		}
		if d.cal.failed[i] {
			f.C[i] = math.NaN()
			continue
		}
		f.C[i] = d.cal.pixel(i, d.ram[i], &s, sp, d.chess, d.emissivity)
	}
}

func (d *Dev) readReg(reg uint16) (uint16, error) {
	binary.BigEndian.PutUint16(d.w[:2], reg)
	if err := d.bus.Tx(d.addr, d.w[:2], d.r[:]); err != nil {
		return 0, fmt.Errorf("mlx90640 %s: read register %#04x at %#x: %w", d.name, reg, d.addr, err)
	}
	return binary.BigEndian.Uint16(d.r[:]), nil
}

func (d *Dev) writeReg(reg, v uint16) error {
	binary.BigEndian.PutUint16(d.w[:2], reg)
	binary.BigEndian.PutUint16(d.w[2:], v)
	if err := d.bus.Tx(d.addr, d.w[:4], nil); err != nil {
		return fmt.Errorf("mlx90640 %s: write register %#04x at %#x: %w", d.name, reg, d.addr, err)
	}
	return nil
}

// readWords reads len(dst) big-endian words from addr in one transaction.
func (d *Dev) readWords(addr uint16, dst []uint16, buf []byte) error {
	buf = buf[:2*len(dst)]
	binary.BigEndian.PutUint16(d.w[:2], addr)
	if err := d.bus.Tx(d.addr, d.w[:2], buf); err != nil {
		return fmt.Errorf("mlx90640 %s: read %d words at %#04x: %w", d.name, len(dst), addr, err)
	}
	for i := range dst {
		dst[i] = binary.BigEndian.Uint16(buf[2*i:])
	}
	return nil
}

func init() {
	thermal.Register(thermal.ArrayDriver{
		Name:        "mlx90640",
		AddressOK:   func(a uint16) bool { return a <= 0x7F },
		AddressRule: "is not a 7-bit I²C address (0x01–0x7F)",
		RateOK:      func(hz float64) bool { return hz == 0 || slices.Contains(rates[:6], hz) },
		RateRule:    "must be 0.5, 1, 2, 4, 8 or 16 (0 means 4; 8 and 16 need a 400 kHz bus)",
		Open: func(d drivers.Device, bus i2c.Bus) (thermal.Array, error) {
			return New(bus, &Opts{Name: d.Name, Addr: d.Address, RateHz: d.RateHz})
		},
	})
}

var _ thermal.Array = (*Dev)(nil)
