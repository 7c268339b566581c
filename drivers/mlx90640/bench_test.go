package mlx90640

import (
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

// benchDev is a Dev on the example device with every pixel calibrated (the
// transcribed pixels repeated over the array), its RAM holding subpage 0.
func benchDev(b *testing.B) *Dev {
	ee := exampleEEPROM()
	ram := exampleRAM(0)
	for i := range pixels {
		px := examplePixels[i%len(examplePixels)]
		ee[0x40+i], ram[i] = px.ee, px.ram[0]
	}
	p := &i2ctest.Playback{Ops: setupOps(ee, 0x1901, 0x1981)}
	d, err := New(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	d.ram = *ram
	return d
}

// BenchmarkCompute is one subpage's RAM to 384 object temperatures: the
// arithmetic of ReadFrame without the bus. Two of them make a whole image.
func BenchmarkCompute(b *testing.B) {
	d := benchDev(b)
	f := d.NewFrame()
	b.ReportAllocs()
	for b.Loop() {
		d.compute(f, 0)
	}
}

// BenchmarkExtract is the one-time restore of the calibration at start-up.
func BenchmarkExtract(b *testing.B) {
	ee := exampleEEPROM()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := extract(ee); err != nil {
			b.Fatal(err)
		}
	}
}
