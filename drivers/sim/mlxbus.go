package sim

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/physic"

	"github.com/gatescreen/gatescreen/drivers/mlx90614"
)

// MLXMaxSpeed is the fastest SMBus clock an MLX90614 accepts (datasheet:
// 10–100 kHz); SetSpeed above it fails, as the real part would misbehave.
const MLXMaxSpeed = 100 * physic.KiloHertz

// ErrNACK is returned for a transaction nobody on the bus acknowledged: a
// wrong address, an unplugged sensor, or a command the sensor rejects.
var ErrNACK = errors.New("no acknowledge")

// MLXBus is an I²C bus with one simulated MLX90614 on it. It answers SMBus
// read word on RAM 0x04–0x08 and EEPROM 0x20–0x3F with LSB, MSB, PEC, and
// EEPROM writes whose PEC is right. The object and ambient temperatures are
// set with Set, or follow the people of a running Gate.
type MLXBus struct {
	name string
	addr uint16

	mu       sync.Mutex
	objectC  float64
	ambientC float64
	sample   func() (objectC, ambientC float64) // a Gate's scene; nil after Set
	badPEC   int
	i2cPlug
	speed  physic.Frequency
	eeprom [32]uint16
	reads  int
}

// NewMLXBus returns a bus named name with an MLX90614 at the 7-bit address
// addr (0 means 0x5A) reading 22 °C for both object and ambient.
func NewMLXBus(name string, addr uint16) *MLXBus {
	addr = orDefault(addr, defaultMLXAddress)
	b := &MLXBus{name: name, addr: addr, objectC: defaultAmbientC, ambientC: defaultAmbientC, speed: MLXMaxSpeed}
	// Factory EEPROM of an MLX90614xAA (datasheet §8.3.3): To max/min, PWM
	// control, Ta range, emissivity 1.0, config 1, SMBus address.
	b.eeprom[0x00] = 0x9993
	b.eeprom[0x01] = 0x62e3
	b.eeprom[0x02] = 0x0201
	b.eeprom[0x03] = 0xf71c
	b.eeprom[0x04] = 0xffff
	b.eeprom[0x05] = 0x9fb4
	b.eeprom[0x0e] = 0xbe00 | addr
	return b
}

// Set fixes the temperatures the sensor reports from now on.
func (b *MLXBus) Set(objectC, ambientC float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objectC, b.ambientC, b.sample = objectC, ambientC, nil
}

// CorruptPEC makes the next n reads answer with a wrong PEC.
func (b *MLXBus) CorruptPEC(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.badPEC += n
}

// Reads returns how many read words the sensor has answered.
func (b *MLXBus) Reads() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads
}

func (b *MLXBus) follow(sample func() (float64, float64)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sample = sample
}

// Tx runs one transaction: w = [cmd] with a 2- or 3-byte r is a read word
// (3 bytes include the PEC); w = [cmd, LSB, MSB, PEC] with no r writes an
// EEPROM word. Address 0 reaches the sensor whatever its address, as on the
// real part.
func (b *MLXBus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.connected() || (addr != b.addr && addr != 0) {
		return fmt.Errorf("%s: Tx to 0x%02x: %w", b.name, addr, ErrNACK)
	}
	switch {
	case len(w) == 1 && (len(r) == 2 || len(r) == 3):
		word, ok := b.word(w[0])
		if !ok {
			return fmt.Errorf("%s: read of command 0x%02x: %w", b.name, w[0], ErrNACK)
		}
		resp := MLXResponse(addr, w[0], word)
		if b.badPEC > 0 {
			b.badPEC--
			resp[2] ^= 0xa5
		}
		b.reads++
		copy(r, resp[:])
		return nil
	case len(w) == 4 && len(r) == 0 && w[0] >= 0x20 && w[0] <= 0x3f:
		if mlx90614.PEC(byte(addr<<1), w[0], w[1], w[2]) != w[3] {
			return fmt.Errorf("%s: write of 0x%02x: bad PEC 0x%02x: %w", b.name, w[0], w[3], ErrNACK)
		}
		b.eeprom[w[0]-0x20] = uint16(w[1]) | uint16(w[2])<<8
		return nil
	}
	return fmt.Errorf("%s: unsupported transaction (write % x, read %d bytes): %w", b.name, w, len(r), ErrNACK)
}

// word returns the value of a RAM or EEPROM command.
func (b *MLXBus) word(cmd byte) (uint16, bool) {
	obj, amb := b.objectC, b.ambientC
	if b.sample != nil {
		obj, amb = b.sample()
	}
	switch {
	case cmd == MLXRegAmbient:
		return MLXRaw(amb), true
	case cmd == MLXRegObject1 || cmd == MLXRegObject2:
		return MLXRaw(obj), true
	case cmd == 0x04 || cmd == 0x05:
		return 0, true // raw IR channels: nobody computes from them here
	case cmd >= 0x20 && cmd <= 0x3f:
		return b.eeprom[cmd-0x20], true
	}
	return 0, false
}

// SetSpeed accepts clocks up to MLXMaxSpeed.
func (b *MLXBus) SetSpeed(f physic.Frequency) error {
	if f <= 0 || f > MLXMaxSpeed {
		return fmt.Errorf("%s: speed %s: the MLX90614 needs 10–100 kHz", b.name, f)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.speed = f
	return nil
}

// Speed returns the last clock set (100 kHz until SetSpeed is called).
func (b *MLXBus) Speed() physic.Frequency {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.speed
}

func (b *MLXBus) String() string { return b.name }

// Close does nothing: the simulated sensor outlives every handle opened on
// it, as a real bus does.
func (b *MLXBus) Close() error { return nil }

// RegisterBus registers b with i2creg under name, so i2creg.Open(name) — and
// a device config `bus: <name>` — opens it. Undo with i2creg.Unregister.
func RegisterBus(name string, b i2c.BusCloser) error {
	if err := i2creg.Register(name, nil, -1, func() (i2c.BusCloser, error) { return b, nil }); err != nil {
		return fmt.Errorf("sim: register I²C bus %s: %w", name, err)
	}
	return nil
}

var _ i2c.BusCloser = (*MLXBus)(nil)
