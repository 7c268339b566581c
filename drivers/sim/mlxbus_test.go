package sim

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/physic"

	"github.com/gatescreen/gatescreen/drivers/mlx90614"
)

// readWord does an SMBus read word through periph's i2c.Dev and checks the
// PEC the way a driver must.
func readWord(t *testing.T, d *i2c.Dev, cmd byte) (uint16, error) {
	t.Helper()
	r := make([]byte, 3)
	if err := d.Tx([]byte{cmd}, r); err != nil {
		return 0, err
	}
	a := byte(d.Addr << 1)
	if want := mlx90614.PEC(a, cmd, a|1, r[0], r[1]); r[2] != want {
		return 0, errors.New("PEC mismatch")
	}
	return uint16(r[0]) | uint16(r[1])<<8, nil
}

func TestMLXBus(t *testing.T) {
	b := NewMLXBus("test-mlx", 0)
	b.Set(36.2, 21.0)
	d := &i2c.Dev{Bus: b, Addr: 0x5a}

	for cmd, want := range map[byte]float64{MLXRegObject1: 36.2, MLXRegObject2: 36.2, MLXRegAmbient: 21.0} {
		w, err := readWord(t, d, cmd)
		if err != nil {
			t.Fatalf("read %#02x: %v", cmd, err)
		}
		if w != MLXRaw(want) {
			t.Errorf("read %#02x = %#04x, want %#04x", cmd, w, MLXRaw(want))
		}
	}
	if w, err := readWord(t, d, 0x24); err != nil || w != 0xffff {
		t.Errorf("emissivity = %#04x, %v; want 0xffff", w, err)
	}

	b.CorruptPEC(2)
	for i := range 2 {
		if _, err := readWord(t, d, MLXRegObject1); err == nil {
			t.Fatalf("corrupted read %d passed the PEC check", i)
		}
	}
	if _, err := readWord(t, d, MLXRegObject1); err != nil {
		t.Fatalf("read after the corrupt ones: %v", err)
	}
	if got := b.Reads(); got != 7 {
		t.Errorf("Reads = %d, want 7", got)
	}

	// Address 0 reaches any MLX90614; its PEC is over address 0.
	if _, err := readWord(t, &i2c.Dev{Bus: b, Addr: 0}, MLXRegAmbient); err != nil {
		t.Errorf("read at address 0: %v", err)
	}
	for name, tx := range map[string]func() error{
		"wrong address":   func() error { return b.Tx(0x5b, []byte{MLXRegObject1}, make([]byte, 3)) },
		"unknown command": func() error { return b.Tx(0x5a, []byte{0x10}, make([]byte, 3)) },
		"one-byte read":   func() error { return b.Tx(0x5a, []byte{MLXRegObject1}, make([]byte, 1)) },
	} {
		if err := tx(); !errors.Is(err, ErrNACK) {
			t.Errorf("%s: err = %v, want ErrNACK", name, err)
		}
	}

	// EEPROM write: emissivity 0.95 = 0xF332, with and without a good PEC.
	w := []byte{0x24, 0x32, 0xf3, 0}
	w[3] = mlx90614.PEC(0xb4, w[0], w[1], w[2])
	if err := b.Tx(0x5a, w, nil); err != nil {
		t.Fatalf("EEPROM write: %v", err)
	}
	if got, _ := readWord(t, d, 0x24); got != 0xf332 {
		t.Errorf("emissivity after write = %#04x", got)
	}
	w[3] ^= 1
	if err := b.Tx(0x5a, w, nil); !errors.Is(err, ErrNACK) {
		t.Errorf("write with a bad PEC: err = %v", err)
	}

	if err := b.SetSpeed(400 * physic.KiloHertz); err == nil {
		t.Error("SetSpeed(400 kHz) accepted")
	}
	if err := b.SetSpeed(50 * physic.KiloHertz); err != nil || b.Speed() != 50*physic.KiloHertz {
		t.Errorf("SetSpeed(50 kHz): %v, speed %s", err, b.Speed())
	}

	b.setUnplugged(true)
	if _, err := readWord(t, d, MLXRegObject1); !errors.Is(err, ErrNACK) {
		t.Errorf("unplugged read: err = %v", err)
	}
}

func TestRegisterBus(t *testing.T) {
	b := NewMLXBus("reg-test", 0x5b)
	b.Set(35, 20)
	if err := RegisterBus("sim-register-test", b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i2creg.Unregister("sim-register-test") })
	if err := RegisterBus("sim-register-test", b); err == nil {
		t.Error("registering a name twice succeeded")
	}
	bus, err := i2creg.Open("sim-register-test")
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	if w, err := readWord(t, &i2c.Dev{Bus: bus, Addr: 0x5b}, MLXRegObject1); err != nil || w != MLXRaw(35) {
		t.Fatalf("read through i2creg: %#04x, %v", w, err)
	}
}
