package mlx90640

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/thermal"
)

const addr = 0x33

func words(w []uint16) []byte {
	b := make([]byte, 2*len(w))
	for i, v := range w {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func reg(a uint16) []byte { return []byte{byte(a >> 8), byte(a)} }

// setupOps is New's bus traffic: the EEPROM in one read of 832 words, then
// a read-modify-write of the control register.
func setupOps(ee *[eepromLen]uint16, ctrlBefore, ctrlAfter uint16) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: reg(0x2400), R: words(ee[:])},
		{Addr: addr, W: reg(0x800D), R: words([]uint16{ctrlBefore})},
		{Addr: addr, W: append(reg(0x800D), words([]uint16{ctrlAfter})...)},
	}
}

// subpageOps is one ReadFrame: the status says new data of subpage sp, the
// new-data bit is cleared, the RAM read, and the status shows no newer one.
func subpageOps(ram *[ramLen]uint16, sp uint16) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: reg(0x8000), R: words([]uint16{0x0008 | sp})},
		{Addr: addr, W: append(reg(0x8000), 0x00, 0x30)},
		{Addr: addr, W: reg(0x0400), R: words(ram[:])},
		{Addr: addr, W: reg(0x8000), R: words([]uint16{sp})},
	}
}

// readOne plays New and one ReadFrame over ops and returns the frame.
func readOne(t *testing.T, ops []i2ctest.IO) *thermal.Frame {
	t.Helper()
	p := &i2ctest.Playback{Ops: ops}
	defer closePlayback(t, p)
	d, err := New(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := d.NewFrame()
	if err := d.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	return f
}

func closePlayback(t *testing.T, p *i2ctest.Playback) {
	t.Helper()
	if err := p.Close(); err != nil {
		t.Error(err)
	}
}

// The parameters Melexis's example lists for its EEPROM.
func TestExtractMatchesExampleParameters(t *testing.T) {
	p, err := extract(exampleEEPROM())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"kVdd", p.kVdd, -3200},
		{"vdd25", p.vdd25, -12544},
		{"KvPTAT", p.kvPTAT, 0.002197},
		{"KtPTAT", p.ktPTAT, 42.625},
		{"VPTAT25", p.vPTAT25, 12196},
		{"alphaPTAT", p.alphaPT, 9},
		{"gainEE", p.gainEE, 5580},
		{"KvCP", p.cpKv, 0.375},
		{"KtaCP", p.cpKta, 0.004272},
		{"resolutionEE", float64(p.resolutionEE), 2},
		{"KsTa", p.ksTa, -0.002441},
		{"alphaCP0", p.cpAlpha[0], 2.8812792152e-9},
		{"alphaCP1", p.cpAlpha[1], 2.9037892091e-9},
		{"offsetCP0", p.cpOffset[0], -69},
		{"offsetCP1", p.cpOffset[1], -65},
		{"CT3", p.ct[2], 300},
		{"CT4", p.ct[3], 500},
		{"KsTo1", p.ksTo[0], -0.0002},
		{"KsTo4", p.ksTo[3], -0.0002},
		{"TGC", p.tgc, 0},
		{"alpha(1,1)", p.alpha[0], 3.64125298802e-8},
		{"alpha(1,2)", p.alpha[1], 3.68781911675e-8},
		{"alpha(2,1)", p.alpha[32], 3.69946064893e-8},
		{"Kv(1,1)", p.kv[0], 0.4375},
		{"Kv(1,2)", p.kv[1], 0.375},
		{"Kv(2,1)", p.kv[32], 0.375},
		{"Kta(1,1)", p.kta[0], 0.00671387},
		{"Kta(1,2)", p.kta[1], 0.00646973},
		{"Kta(2,1)", p.kta[32], 0.00683594},
		{"Kta(2,2)", p.kta[33], 0.00585938},
	}
	for _, c := range checks {
		// The example prints three to six significant digits (KsTo
		// −0.000200 is −105/2^19 = −0.00020027).
		if math.Abs(c.got-c.want) > 1.5e-3*math.Abs(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// The example's object temperatures, through the driver over a playback of
// the bus: EEPROM read once, both subpages, within 0.01 °C.
func TestExampleTemperaturesOverPlayback(t *testing.T) {
	ops := setupOps(exampleEEPROM(), exampleControl, exampleControl)
	ops = append(ops, subpageOps(exampleRAM(0), 0)...)
	ops = append(ops, subpageOps(exampleRAM(1), 1)...)
	p := &i2ctest.Playback{Ops: ops}
	defer closePlayback(t, p)
	d, err := New(p, &Opts{RateHz: 2})
	if err != nil {
		t.Fatal(err)
	}
	f := d.NewFrame()
	for sp := range 2 {
		if err := d.ReadFrame(f); err != nil {
			t.Fatalf("subpage %d: %v", sp, err)
		}
		if f.Flags != 0 {
			t.Fatalf("subpage %d: flags %b", sp, f.Flags)
		}
	}
	for _, px := range examplePixels {
		if got := f.C[px.index]; math.Abs(got-px.wantTo) > 0.01 {
			t.Errorf("pixel (%d,%d): To = %.3f °C, want %.3f", px.index/32+1, px.index%32+1, got, px.wantTo)
		}
	}
	if !math.IsNaN(f.C[100]) {
		t.Errorf("pixel with EEPROM word 0 = %v, want NaN (failed pixel)", f.C[100])
	}
}

// New writes the refresh rate into bits 9:7 and the pattern into bit 12 of
// the control register, keeping the other bits (resolution, subpage mode).
func TestNewSetsRateAndPattern(t *testing.T) {
	tests := []struct {
		opts Opts
		want uint16
	}{
		{Opts{}, 0x1981}, // default 4 Hz, chess
		{Opts{RateHz: 16, Interleaved: true}, 0x0A81}, // 16 Hz, interleaved
		{Opts{RateHz: 0.5}, 0x1801},                   // 0.5 Hz
	}
	for _, tt := range tests {
		p := &i2ctest.Playback{Ops: setupOps(exampleEEPROM(), 0x0901, tt.want)}
		if _, err := New(p, &tt.opts); err != nil {
			t.Fatalf("%+v: %v", tt.opts, err)
		}
		closePlayback(t, p)
	}
}

// A subpage that changes while the RAM is read is read again; one that
// keeps changing is a bus too slow for the rate, and the error says so.
func TestSubpageChangedDuringRead(t *testing.T) {
	ram := exampleRAM(0)
	changed := []i2ctest.IO{
		{Addr: addr, W: reg(0x8000), R: words([]uint16{0x0008})},
		{Addr: addr, W: append(reg(0x8000), 0x00, 0x30)},
		{Addr: addr, W: reg(0x0400), R: words(ram[:])},
	}
	ops := setupOps(exampleEEPROM(), 0x1901, 0x1981)
	ops = append(ops, changed...)
	ops = append(ops, subpageOps(ram, 0)...)
	if f := readOne(t, ops); math.Abs(f.C[0]-28.711) > 0.01 {
		t.Fatalf("pixel (1,1) after a re-read = %v", f.C[0])
	}

	ops = setupOps(exampleEEPROM(), 0x1901, 0x1981)
	for range maxReads {
		ops = append(ops, changed...)
	}
	ops = append(ops, changed[0])
	p := &i2ctest.Playback{Ops: ops}
	defer closePlayback(t, p)
	d, err := New(p, &Opts{Name: "lane3-array"})
	if err != nil {
		t.Fatal(err)
	}
	err = d.ReadFrame(d.NewFrame())
	if err == nil || !strings.Contains(err.Error(), "too slow") || !strings.Contains(err.Error(), "lane3-array") {
		t.Fatalf("error %v, want one naming the device and the slow bus", err)
	}
}

// An EEPROM that reads as all ones (a bus that returned nothing, as in
// melexis/mlx90640-library#106) is refused instead of giving nonsense.
func TestBlankEEPROM(t *testing.T) {
	var ee [eepromLen]uint16
	for i := range ee {
		ee[i] = 0xFFFF
	}
	p := &i2ctest.Playback{Ops: setupOps(&ee, 0, 0)[:1]}
	defer closePlayback(t, p)
	_, err := New(p, nil)
	if err == nil || !strings.Contains(err.Error(), "blank") {
		t.Fatalf("New on a blank EEPROM: %v", err)
	}
}

// Supply and die temperature outside the sensor's range make the frame
// invalid, never a set of temperatures.
func TestImplausibleVddIsSensorError(t *testing.T) {
	ram := exampleRAM(0)
	ram[ramVdd] = 0x7FFF
	ops := append(setupOps(exampleEEPROM(), 0x1901, 0x1981), subpageOps(ram, 0)...)
	if f := readOne(t, ops); f.Flags != drivers.FlagSensorError {
		t.Fatalf("flags %b, want FlagSensorError", f.Flags)
	}
}

func TestNewRejectsBadOpts(t *testing.T) {
	tests := []struct {
		name string
		opts Opts
		want string
	}{
		{"rate", Opts{RateHz: 32}, "want 0.5, 1, 2, 4, 8 or 16"},
		{"emissivity", Opts{Emissivity: 1.2}, "emissivity"},
		{"address", Opts{Addr: 0x80}, "7-bit"},
	}
	for _, tt := range tests {
		if _, err := New(&i2ctest.Playback{}, &tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := New(nil, nil); err == nil {
		t.Error("New accepted a nil bus")
	}
}

func TestRegistered(t *testing.T) {
	drv, ok := drivers.Lookup("mlx90640")
	if !ok {
		t.Fatal("mlx90640 is not registered")
	}
	if errs := drv.Validate(drivers.Device{Address: 0x80, RateHz: 10}); len(errs) != 2 {
		t.Fatalf("Validate found %v, want errors on address and rate_hz", errs)
	}
	if errs := drv.Validate(drivers.Device{Address: 0x33, RateHz: 8}); errs != nil {
		t.Fatalf("Validate rejected a good device: %v", errs)
	}
	p := &i2ctest.Playback{Ops: setupOps(exampleEEPROM(), 0x1901, 0x1981)}
	defer closePlayback(t, p)
	if _, err := drv.New(drivers.Device{Name: "lane1-array"}, drivers.Conn{Bus: p}); err != nil {
		t.Fatal(err)
	}
}
