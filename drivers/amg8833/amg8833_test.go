package amg8833

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/thermal"
)

const addr = 0x69

// setupOps is what New writes: normal mode, initial reset, 10 fps, the AVE
// unlock sequence with AVE = ave, and the lock.
func setupOps(fps, ave byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x00, 0x00}}, // PCTL normal mode
		{Addr: addr, W: []byte{0x01, 0x3F}}, // RST initial reset
		{Addr: addr, W: []byte{0x02, fps}},  // FPSC
		{Addr: addr, W: []byte{0x1F, 0x50}}, // unlock AVE …
		{Addr: addr, W: []byte{0x1F, 0x45}}, //
		{Addr: addr, W: []byte{0x1F, 0x57}}, //
		{Addr: addr, W: []byte{0x07, ave}},  // AVE: bit 5 MAMOD
		{Addr: addr, W: []byte{0x1F, 0x00}}, // … lock
	}
}

// frameOps is one ReadFrame: status, thermistor, 64 pixels.
func frameOps(stat byte, therm uint16, pixels [64]uint16) []i2ctest.IO {
	pix := make([]byte, 128)
	for i, p := range pixels {
		pix[2*i], pix[2*i+1] = byte(p), byte(p>>8)
	}
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x04}, R: []byte{stat}},
		{Addr: addr, W: []byte{0x0E}, R: []byte{byte(therm), byte(therm >> 8)}},
		{Addr: addr, W: []byte{0x80}, R: pix},
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

// The conversion tables of the Grid-EYE specification (as reproduced in
// Devantech's USB-TPA64 documentation): thermistor 12-bit sign-magnitude at
// 0.0625 °C, pixels 12-bit two's complement at 0.25 °C.
func TestConversions(t *testing.T) {
	therm := []struct {
		w    uint16
		want float64
	}{{0x7D0, 125}, {0x190, 25}, {0x004, 0.25}, {0x000, 0}, {0x804, -0.25}, {0x940, -20}}
	for _, tt := range therm {
		if got := thermistorC(tt.w); got != tt.want {
			t.Errorf("thermistorC(%#03x) = %v, want %v", tt.w, got, tt.want)
		}
	}
	pix := []struct {
		w    uint16
		want float64
	}{{0x1F4, 125}, {0x064, 25}, {0x001, 0.25}, {0x000, 0}, {0xFFF, -0.25}, {0xF9C, -25}, {0xF24, -55}}
	for _, tt := range pix {
		if got := pixelC(tt.w); got != tt.want {
			t.Errorf("pixelC(%#03x) = %v, want %v", tt.w, got, tt.want)
		}
	}
}

func TestReadFrame(t *testing.T) {
	var px [64]uint16
	for i := range px {
		px[i] = 0x58 // 22 °C background
	}
	px[3*8+4] = 0x92 // 36.5 °C
	px[63] = 0xFF8   // −2 °C
	f := readOne(t, append(setupOps(0x00, 0x00), frameOps(0x00, 0x18C, px)...))
	if f.Flags != 0 {
		t.Fatalf("flags %b, want none", f.Flags)
	}
	if f.AmbientC != 24.75 {
		t.Errorf("ambient %v, want 24.75", f.AmbientC)
	}
	if got := f.At(4, 3); got != 36.5 {
		t.Errorf("pixel (4,3) = %v, want 36.5", got)
	}
	if got := f.At(7, 7); got != -2 {
		t.Errorf("pixel (7,7) = %v, want -2", got)
	}
	if got := f.At(0, 0); got != 22 {
		t.Errorf("pixel (0,0) = %v, want 22", got)
	}
}

func TestMovingAverageAndOneFPS(t *testing.T) {
	p := &i2ctest.Playback{Ops: setupOps(0x01, 0x20)}
	defer closePlayback(t, p)
	d, err := New(p, &Opts{RateHz: 1, MovingAverage: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Period().Seconds() != 1 {
		t.Fatalf("period %v, want 1 s", d.Period())
	}
}

// An overflow in the status register makes the frame invalid and is cleared.
func TestOverflowIsInvalidAndCleared(t *testing.T) {
	var px [64]uint16
	ops := append(setupOps(0x00, 0x00), frameOps(statOvfIRS, 0x190, px)...)
	ops = append(ops, i2ctest.IO{Addr: addr, W: []byte{0x05, 0x0C}}) // SCLR overflow bits
	if f := readOne(t, ops); f.Flags != drivers.FlagOutOfRange || !f.Flags.Invalid() {
		t.Fatalf("flags %b, want FlagOutOfRange", f.Flags)
	}
}

func TestMissingSensorNamesDevice(t *testing.T) {
	p := &i2ctest.Playback{DontPanic: true}
	_, err := New(p, &Opts{Name: "lane2-array"})
	if err == nil || !strings.Contains(err.Error(), "lane2-array") || !strings.Contains(err.Error(), "0x69") {
		t.Fatalf("error %v, want one naming the device and address", err)
	}
	if errors.Unwrap(err) == nil {
		t.Fatalf("error %v does not wrap the bus error", err)
	}
}

func TestNewRejectsBadOpts(t *testing.T) {
	tests := []struct {
		name string
		opts Opts
		want string
	}{
		{"address", Opts{Addr: 0x5A}, "only at 0x68 or 0x69"},
		{"rate", Opts{RateHz: 8}, "1 or 10 Hz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(&i2ctest.Playback{}, &tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New(nil, nil); err == nil {
		t.Fatal("New accepted a nil bus")
	}
}

func TestWrongFrameSize(t *testing.T) {
	p := &i2ctest.Playback{Ops: setupOps(0, 0)}
	defer closePlayback(t, p)
	d, err := New(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := d.NewFrame()
	f.W = 32
	if err := d.ReadFrame(f); err == nil {
		t.Fatalf("ReadFrame accepted a %d×%d frame", f.W, f.H)
	}
}

// Frames come one period apart: the sensor has no new-data flag.
func TestReadFrameWaitsForTheNextFrame(t *testing.T) {
	var px [64]uint16
	ops := append(setupOps(0x00, 0x00), frameOps(0, 0x190, px)...)
	ops = append(ops, frameOps(0, 0x190, px)...)
	p := &i2ctest.Playback{Ops: ops}
	defer closePlayback(t, p)
	d, err := New(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := d.NewFrame()
	start := time.Now()
	for range 2 {
		if err := d.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("two frames at 10 Hz in %v, want at least one period", el)
	}
}

func TestRegistered(t *testing.T) {
	drv, ok := drivers.Lookup("amg8833")
	if !ok {
		t.Fatal("amg8833 is not registered")
	}
	if errs := drv.Validate(drivers.Device{Address: 0x5A, RateHz: 8}); len(errs) != 2 {
		t.Fatalf("Validate found %v, want errors on address and rate_hz", errs)
	}
	if errs := drv.Validate(drivers.Device{Address: 0x68, RateHz: 1}); errs != nil {
		t.Fatalf("Validate rejected a good device: %v", errs)
	}
	p := &i2ctest.Playback{Ops: setupOps(0x00, 0x00)}
	defer closePlayback(t, p)
	if _, err := drv.New(drivers.Device{Name: "lane1-array"}, drivers.Conn{Bus: p}); err != nil {
		t.Fatal(err)
	}
}
