package mlx90614

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/i2c"

	"github.com/gatescreen/gatescreen/drivers"
)

// RAM commands (datasheet, "RAM access": command 000x xxxx).
const (
	ramTa    = 0x06 // ambient (die) temperature
	ramTobj1 = 0x07 // object temperature, zone 1
)

// errorFlag is bit 15 of a RAM temperature word: the sensor flags its own
// measurement as bad and the remaining bits carry no temperature.
const errorFlag = 0x8000

// Opts configures a Dev. The zero value of every field means its default.
type Opts struct {
	// Name identifies the device in errors and logs; default "mlx90614@<addr>".
	Name string
	// Addr is the 7-bit SMBus address; default 0x5A (the factory setting).
	Addr uint16
	// RateHz is how often Run reads the sensor; default 8.
	RateHz float64
	// Retries bounds the extra attempts after a PEC mismatch or a bus error
	// (NACK) on one register read; default 3. A bus that still fails makes
	// Sense return an error; a PEC that still mismatches makes the reading
	// invalid.
	Retries int
	// Logger receives retry notices at debug level; the zero value logs nothing.
	Logger zerolog.Logger
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Addr: 0x5A, RateHz: 8, Retries: 3}

// Dev is one MLX90614 on an opened bus. Sense and Run must not be called
// concurrently: a Dev reuses its transfer buffers so a read allocates nothing.
type Dev struct {
	bus     i2c.Bus
	name    string
	addr    uint16
	period  time.Duration
	retries int
	log     zerolog.Logger
	// pecTa and pecTobj1 are the CRC-8 of the bytes before the data of each
	// read (SA_W, command, SA_R); they are constant for a device.
	pecTa, pecTobj1 byte
	w               [1]byte
	r               [3]byte
}

// New returns a Dev reading the sensor at opts.Addr on bus. It does not touch
// the bus: a missing sensor shows up as an error from the first Sense.
func New(bus i2c.Bus, opts *Opts) (*Dev, error) {
	o := drivers.WithDefaults(opts, DefaultOpts)
	name, err := drivers.I2CName("mlx90614", o.Name, o.Addr, bus)
	if err != nil {
		return nil, err
	}
	o.Name = name
	switch {
	case o.Addr > 0x7F:
		return nil, fmt.Errorf("mlx90614 %s: address %#x is not a 7-bit address", o.Name, o.Addr)
	case o.RateHz < 0 || math.IsNaN(o.RateHz) || math.IsInf(o.RateHz, 0):
		return nil, fmt.Errorf("mlx90614 %s: rate %v Hz is not a positive rate", o.Name, o.RateHz)
	case o.Retries < 0:
		return nil, fmt.Errorf("mlx90614 %s: retries %d is negative", o.Name, o.Retries)
	}
	return &Dev{
		bus:      bus,
		name:     o.Name,
		addr:     o.Addr,
		period:   time.Duration(float64(time.Second) / o.RateHz),
		retries:  o.Retries,
		log:      o.Logger,
		pecTa:    pecPrefix(o.Addr, ramTa),
		pecTobj1: pecPrefix(o.Addr, ramTobj1),
	}, nil
}

// String returns the device name.
func (d *Dev) String() string { return d.name }

// Run reads the sensor at the configured rate and emits every reading, valid
// or not, until ctx is done (nil) or the bus keeps failing (the error).
func (d *Dev) Run(ctx context.Context, emit drivers.Emit) error {
	tick := time.NewTicker(d.period)
	defer tick.Stop()
	for {
		r, err := d.Sense()
		if err != nil {
			return err
		}
		emit(r)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			// select picks at random when both are ready: a cancelled
			// Run must not read the bus once more.
			if ctx.Err() != nil {
				return nil
			}
		}
	}
}

// Sense reads the object and the ambient temperature once. A PEC that never
// matches or a sensor error flag gives an invalid reading (no error); only a
// bus failure that outlasts the retries returns an error.
func (d *Dev) Sense() (drivers.Reading, error) {
	obj, err := d.readRAM(ramTobj1, d.pecTobj1)
	if err != nil {
		return drivers.Reading{}, err
	}
	amb, err := d.readRAM(ramTa, d.pecTa)
	if err != nil {
		return drivers.Reading{}, err
	}
	var flags drivers.Flags
	if !obj.pecOK || !amb.pecOK {
		flags |= drivers.FlagChecksum
	}
	objC, objOK := celsius(obj.word)
	ambC, ambOK := celsius(amb.word)
	if flags == 0 && (!objOK || !ambOK) {
		// Tobj is computed from Ta: an error on either makes both untrustworthy.
		flags |= drivers.FlagSensorError
	}
	if flags != 0 {
		var frame [8]byte
		obj.put(frame[:4], ramTobj1)
		amb.put(frame[4:], ramTa)
		return drivers.Invalid(flags, frame[:]), nil
	}
	return drivers.NewTemperature(objC, ambC, 0), nil
}

// ramRead is the outcome of one register read.
type ramRead struct {
	data  [3]byte // LSB, MSB, PEC as received
	word  uint16
	pecOK bool
}

// put writes the command and the received bytes, for an invalid reading's frame.
func (r *ramRead) put(dst []byte, cmd byte) {
	dst[0] = cmd
	copy(dst[1:], r.data[:])
}

// readRAM reads one RAM word, retrying bus errors and PEC mismatches.
func (d *Dev) readRAM(cmd, prefix byte) (ramRead, error) {
	var (
		res ramRead
		err error
	)
	d.w[0] = cmd
	for attempt := 0; attempt <= d.retries; attempt++ {
		if err = d.bus.Tx(d.addr, d.w[:], d.r[:]); err != nil {
			d.log.Debug().Err(err).Str("device", d.name).Uint8("cmd", cmd).Int("attempt", attempt).Msg("mlx90614 bus error")
			continue
		}
		res.data = d.r
		res.word, res.pecOK = decodeWord(prefix, d.r)
		if res.pecOK {
			return res, nil
		}
		d.log.Debug().Str("device", d.name).Uint8("cmd", cmd).Hex("frame", d.r[:]).Int("attempt", attempt).Msg("mlx90614 PEC mismatch")
	}
	if err != nil {
		return res, fmt.Errorf("mlx90614 %s: read RAM %#02x at %#x after %d attempts: %w", d.name, cmd, d.addr, d.retries+1, err)
	}
	return res, nil
}

// celsius converts a RAM temperature word to °C. Datasheet (MLX90614,
// "Temperature reading" and the SMBus application note): T[K] = word × 0.02,
// so °C = word × 0.02 − 273.15; bit 15 set is the error flag and then the
// word carries no temperature (ok is false).
func celsius(word uint16) (c float64, ok bool) {
	if word&errorFlag != 0 {
		return math.NaN(), false
	}
	return float64(word)*0.02 - 273.15, true
}

// decodeWord returns the little-endian word of a read-word frame (LSB, MSB,
// PEC) and whether its PEC matches, given the CRC of the bytes before it.
func decodeWord(prefix byte, f [3]byte) (word uint16, pecOK bool) {
	crc := crcTable[crcTable[prefix^f[0]]^f[1]]
	return uint16(f[0]) | uint16(f[1])<<8, crc == f[2]
}

// pecPrefix is the CRC-8 of SA_W, cmd, SA_R: what the PEC covers before the data.
func pecPrefix(addr uint16, cmd byte) byte {
	sa := byte(addr << 1)
	return PEC(sa, cmd, sa|1)
}

// PEC is the SMBus packet error code of b: CRC-8 with polynomial 0x07
// (x⁸+x²+x+1), initial value 0, MSB first, as the MLX90614 appends to every
// read word. The simulator encodes its answers with it.
func PEC(b ...byte) byte {
	var crc byte
	for _, v := range b {
		crc = crcTable[crc^v]
	}
	return crc
}

// crcTable holds the CRC-8 of every byte: one lookup per byte instead of
// eight shifts.
var crcTable = func() (t [256]byte) {
	for i := range t {
		t[i] = crc8Bitwise(byte(i))
	}
	return t
}()

// crc8Bitwise is the CRC-8 shifted bit by bit, the definition the table is
// built from.
func crc8Bitwise(data ...byte) byte {
	var crc byte
	for _, b := range data {
		crc ^= b
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x07
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func init() {
	drivers.Register(drivers.Driver{
		Name:       "mlx90614",
		Transport:  drivers.I2C,
		Continuous: true,
		Validate:   validate,
		New: func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
			// A nil *Dev in a non-nil Source would look like a device.
			dev, err := New(c.Bus, &Opts{Name: d.Name, Addr: d.Address, RateHz: d.RateHz})
			if err != nil {
				return nil, err
			}
			return dev, nil
		},
	})
}

// validate checks the device fields this driver reads.
func validate(d drivers.Device) []drivers.FieldError {
	var errs []drivers.FieldError
	if d.Address > 0x7F {
		errs = append(errs, drivers.FieldError{Field: "address", Value: d.Address, Msg: "is not a 7-bit I²C address (0x01–0x7F)"})
	}
	if d.RateHz < 0 {
		errs = append(errs, drivers.FieldError{Field: "rate_hz", Value: d.RateHz, Msg: "must be positive (0 means 8 Hz)"})
	}
	return errs
}

var _ drivers.Source = (*Dev)(nil)
