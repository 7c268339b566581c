package mlx90614

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/gatescreen/gatescreen/drivers"
)

// readOp is the playback of one SMBus read word at 0x5A: command, then LSB,
// MSB and a PEC that is correct unless corrupt is set.
func readOp(cmd byte, word uint16, corrupt bool) i2ctest.IO {
	lsb, msb := byte(word), byte(word>>8)
	pec := PEC(0x5A<<1, cmd, 0x5A<<1|1, lsb, msb)
	if corrupt {
		pec ^= 0x01
	}
	return i2ctest.IO{Addr: 0x5A, W: []byte{cmd}, R: []byte{lsb, msb, pec}}
}

const (
	raw37_3 = 0x3CA2 // 15522 × 0.02 − 273.15 = 37.29 °C
	raw25   = 0x3A3C // 14908 × 0.02 − 273.15 = 25.01 °C
)

func newDev(t testing.TB, bus i2c.Bus) *Dev {
	t.Helper()
	d, err := New(bus, &Opts{Name: "lane1-ir"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func closePlayback(t *testing.T, p *i2ctest.Playback) {
	t.Helper()
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

// The example frame of the SMBus application note: reading Tobj1 at 0x5A
// returns D2 3A with PEC 30.
func TestPECMatchesDatasheetExample(t *testing.T) {
	if got := PEC(0xB4, 0x07, 0xB5, 0xD2, 0x3A); got != 0x30 {
		t.Fatalf("PEC = %#02x, want 0x30", got)
	}
	if got := crc8Bitwise(0xB4, 0x07, 0xB5, 0xD2, 0x3A); got != 0x30 {
		t.Fatalf("bitwise CRC = %#02x, want 0x30", got)
	}
	word, ok := decodeWord(pecPrefix(0x5A, 0x07), [3]byte{0xD2, 0x3A, 0x30})
	if !ok || word != 0x3AD2 {
		t.Fatalf("decodeWord = %#04x, %v; want 0x3ad2, true", word, ok)
	}
}

// Known values of CRC-8/SMBUS (poly 0x07, init 0, no reflection, no final
// XOR): the catalogue's check value over "123456789" and two worked by hand.
func TestPECKnownVectors(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want byte
	}{
		// The CRC catalogue's check value of CRC-8/SMBUS.
		{"check 123456789", []byte("123456789"), 0xF4},
		// 0x01 shifts to 0x80 in seven steps; the eighth shifts the top bit
		// out and XORs the polynomial: 0x00^0x07 = 0x07.
		{"01", []byte{0x01}, 0x07},
		// 0x80 → 0x07 → 0x0E → 0x1C → 0x38 → 0x70 → 0xE0 → 0xC0^0x07 = 0xC7 →
		// 0x8E^0x07 = 0x89.
		{"80", []byte{0x80}, 0x89},
		// A message followed by its own PEC (the datasheet example) gives 0.
		{"message and its PEC", []byte{0xB4, 0x07, 0xB5, 0xD2, 0x3A, 0x30}, 0x00},
	} {
		if got := PEC(c.in...); got != c.want {
			t.Errorf("%s: PEC = %#02x, want %#02x", c.name, got, c.want)
		}
		if got := crc8Bitwise(c.in...); got != c.want {
			t.Errorf("%s: bitwise CRC = %#02x, want %#02x", c.name, got, c.want)
		}
	}
}

func TestCelsius(t *testing.T) {
	tests := []struct {
		name string
		word uint16
		want float64
		ok   bool
	}{
		{"fever threshold", raw37_3, 37.29, true},
		{"room", raw25, 25.01, true},
		{"lowest object value", 0x27AD, -70.01, true},
		{"highest object value", 0x7FFF, 382.19, true},
		{"error flag", 0x8000 | raw37_3, math.NaN(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := celsius(tt.word)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if ok && math.Abs(got-tt.want) > 0.005 {
				t.Fatalf("celsius(%#04x) = %.3f, want %.2f", tt.word, got, tt.want)
			}
			if !ok && !math.IsNaN(got) {
				t.Fatalf("celsius(%#04x) = %v, want NaN", tt.word, got)
			}
		})
	}
}

func TestSenseGoodRead(t *testing.T) {
	p := &i2ctest.Playback{Ops: []i2ctest.IO{
		readOp(ramTobj1, raw37_3, false),
		readOp(ramTa, raw25, false),
	}}
	defer closePlayback(t, p)
	r, err := newDev(t, p).Sense()
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != drivers.KindTemperature || r.Flags != 0 {
		t.Fatalf("reading kind %d flags %b, want a valid temperature", r.Kind, r.Flags)
	}
	if math.Abs(r.ObjectC-37.29) > 0.005 || math.Abs(r.AmbientC-25.01) > 0.005 {
		t.Fatalf("object %.3f ambient %.3f, want 37.29 and 25.01", r.ObjectC, r.AmbientC)
	}
}

func TestSensePECMismatchIsRetried(t *testing.T) {
	p := &i2ctest.Playback{Ops: []i2ctest.IO{
		readOp(ramTobj1, raw37_3, true),
		readOp(ramTobj1, raw37_3, false),
		readOp(ramTa, raw25, false),
	}}
	defer closePlayback(t, p)
	r, err := newDev(t, p).Sense()
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags != 0 || math.Abs(r.ObjectC-37.29) > 0.005 {
		t.Fatalf("after one bad PEC got flags %b object %.3f, want the retried good value", r.Flags, r.ObjectC)
	}
}

func TestSensePECMismatchAfterRetriesIsInvalid(t *testing.T) {
	bad := readOp(ramTobj1, raw37_3, true)
	p := &i2ctest.Playback{Ops: []i2ctest.IO{bad, bad, bad, bad, readOp(ramTa, raw25, false)}}
	defer closePlayback(t, p)
	r, err := newDev(t, p).Sense()
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags != drivers.FlagChecksum || !r.Flags.Invalid() {
		t.Fatalf("flags %b, want FlagChecksum", r.Flags)
	}
	if !math.IsNaN(r.ObjectC) {
		t.Fatalf("object %v, want NaN on a checksum failure", r.ObjectC)
	}
	wantFrame := append([]byte{ramTobj1}, bad.R...)
	if got := r.FrameBytes(); len(got) != 8 || string(got[:4]) != string(wantFrame) {
		t.Fatalf("frame % x, want it to start with % x", got, wantFrame)
	}
}

func TestSenseErrorFlagIsSensorError(t *testing.T) {
	p := &i2ctest.Playback{Ops: []i2ctest.IO{
		readOp(ramTobj1, 0x8000|raw37_3, false),
		readOp(ramTa, raw25, false),
	}}
	defer closePlayback(t, p)
	r, err := newDev(t, p).Sense()
	if err != nil {
		t.Fatal(err)
	}
	if r.Flags != drivers.FlagSensorError || !math.IsNaN(r.ObjectC) {
		t.Fatalf("flags %b object %v, want FlagSensorError and NaN", r.Flags, r.ObjectC)
	}
}

// flakyBus NACKs the first fails transfers, then hands over to the playback.
type flakyBus struct {
	*i2ctest.Playback
	fails int
}

var errNACK = errors.New("i2c: NACK")

func (b *flakyBus) Tx(addr uint16, w, r []byte) error {
	if b.fails > 0 {
		b.fails--
		return errNACK
	}
	return b.Playback.Tx(addr, w, r)
}

func TestSenseNACKIsRetried(t *testing.T) {
	p := &i2ctest.Playback{Ops: []i2ctest.IO{
		readOp(ramTobj1, raw37_3, false),
		readOp(ramTa, raw25, false),
	}}
	defer closePlayback(t, p)
	r, err := newDev(t, &flakyBus{Playback: p, fails: 2}).Sense()
	if err != nil {
		t.Fatalf("two NACKs within three retries: %v", err)
	}
	if r.Flags != 0 {
		t.Fatalf("flags %b, want a valid reading", r.Flags)
	}
}

// A sensor that never answers makes Run return an error naming the device,
// so the daemon reopens the bus.
func TestRunReturnsBusError(t *testing.T) {
	p := &i2ctest.Playback{DontPanic: true} // no ops: every Tx fails like a NACK
	d := newDev(t, p)
	err := d.Run(context.Background(), func(drivers.Reading) { t.Error("emitted a reading from a dead bus") })
	if err == nil {
		t.Fatal("Run returned nil on a dead bus")
	}
	if !strings.Contains(err.Error(), "lane1-ir") || !strings.Contains(err.Error(), "4 attempts") {
		t.Fatalf("error %q does not name the device and the attempts", err)
	}
	if p.Count != 0 {
		t.Fatalf("playback consumed %d ops", p.Count)
	}
}

// A Run cancelled while its next tick is already due returns without
// touching the bus again (select chooses at random between ready cases;
// 40 tries make a 50 % chance per try fail the test).
func TestRunCancelledWithATickDueReadsNoMore(t *testing.T) {
	for try := range 40 {
		p := &i2ctest.Playback{Ops: []i2ctest.IO{readOp(ramTobj1, raw37_3, false), readOp(ramTa, raw25, false)}, DontPanic: true}
		d, err := New(p, &Opts{RateHz: 1000})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = d.Run(ctx, func(drivers.Reading) {
			time.Sleep(3 * time.Millisecond) // the next tick is due
			cancel()
		})
		cancel()
		if err != nil || p.Count != 2 {
			t.Fatalf("try %d: Run after cancel: %v, %d ops consumed, want nil and 2", try, err, p.Count)
		}
	}
}

func TestRunStreamsUntilCancelled(t *testing.T) {
	const n = 3
	var ops []i2ctest.IO
	for range n {
		ops = append(ops, readOp(ramTobj1, raw37_3, false), readOp(ramTa, raw25, false))
	}
	p := &i2ctest.Playback{Ops: ops}
	defer closePlayback(t, p)
	d, err := New(p, &Opts{RateHz: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []drivers.Reading
	err = d.Run(ctx, func(r drivers.Reading) {
		got = append(got, r)
		if len(got) == n {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if len(got) != n {
		t.Fatalf("emitted %d readings, want %d", len(got), n)
	}
}

func TestNewRejectsBadOpts(t *testing.T) {
	p := &i2ctest.Playback{}
	tests := []struct {
		name string
		bus  i2c.Bus
		opts Opts
		want string
	}{
		{"no bus", nil, Opts{}, "no I²C bus"},
		{"10-bit address", p, Opts{Addr: 0x100}, "not a 7-bit address"},
		{"negative rate", p, Opts{RateHz: -1}, "not a positive rate"},
		{"negative retries", p, Opts{Retries: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.bus, &tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	d, ok := drivers.Lookup("mlx90614")
	if !ok {
		t.Fatal("mlx90614 is not registered")
	}
	if d.Transport != drivers.I2C || !d.Continuous {
		t.Fatalf("transport %d continuous %v, want I2C and continuous", d.Transport, d.Continuous)
	}
	if errs := d.Validate(drivers.Device{Address: 0x80, RateHz: -2}); len(errs) != 2 {
		t.Fatalf("Validate found %v, want errors on address and rate_hz", errs)
	}
	if errs := d.Validate(drivers.Device{Address: 0x5B}); errs != nil {
		t.Fatalf("Validate rejected a good device: %v", errs)
	}
	p := &i2ctest.Playback{Ops: []i2ctest.IO{readOp(ramTobj1, raw37_3, false), readOp(ramTa, raw25, false)}}
	defer closePlayback(t, p)
	src, err := d.New(drivers.Device{Name: "gate"}, drivers.Conn{Bus: p})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := src.(*Dev).Sense(); err != nil || r.Flags != 0 {
		t.Fatalf("Sense through the registry: %v, flags %b", err, r.Flags)
	}
}

func FuzzDecodeWord(f *testing.F) {
	f.Add(byte(0x5A), byte(0x07), byte(0xD2), byte(0x3A), byte(0x30))
	f.Add(byte(0x5A), byte(0x06), byte(0x3C), byte(0x3A), byte(0x00))
	f.Add(byte(0x00), byte(0x07), byte(0xFF), byte(0xFF), byte(0xFF))
	f.Fuzz(func(t *testing.T, addr, cmd, lsb, msb, pec byte) {
		a := uint16(addr & 0x7F)
		word, ok := decodeWord(pecPrefix(a, cmd), [3]byte{lsb, msb, pec})
		if word != uint16(lsb)|uint16(msb)<<8 {
			t.Fatalf("word %#04x from % x", word, []byte{lsb, msb})
		}
		want := PEC(byte(a<<1), cmd, byte(a<<1)|1, lsb, msb) == pec
		if ok != want {
			t.Fatalf("pecOK %v, PEC says %v", ok, want)
		}
		c, valid := celsius(word)
		if valid != (word&errorFlag == 0) {
			t.Fatalf("celsius(%#04x) valid %v", word, valid)
		}
		if valid && (c < -273.15 || c > 382.2) {
			t.Fatalf("celsius(%#04x) = %v outside the sensor's span", word, c)
		}
	})
}
