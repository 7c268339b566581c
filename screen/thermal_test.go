package screen

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gatescreen/gatescreen/pipeline"
)

// fakeThermal holds frames by device and capture time, as the daemon's
// thermal arrays do.
type fakeThermal struct {
	mu     sync.Mutex
	frames map[[2]int64]ThermalImage
}

func (f *fakeThermal) put(device uint16, mono int64, img ThermalImage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frames == nil {
		f.frames = map[[2]int64]ThermalImage{}
	}
	f.frames[[2]int64{int64(device), mono}] = img
}

func (f *fakeThermal) ThermalImage(device uint16, mono int64) (ThermalImage, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.frames[[2]int64{int64(device), mono}]
	return img, ok
}

// faceFrame is an 8×8 frame of a wall at 22 °C with a warm face in the
// middle at hotC, and one failed pixel.
func faceFrame(hotC float64) ThermalImage {
	img := ThermalImage{W: 8, H: 8, C: make([]float64, 64)}
	for i := range img.C {
		img.C[i] = 22
		if x, y := i%8, i/8; x >= 2 && x < 6 && y >= 1 && y < 6 {
			img.C[i] = hotC - 1.5
			if y == 2 {
				img.C[i] = hotC
			}
		}
	}
	img.C[63] = math.NaN()
	return img
}

type stateWithThumbs struct {
	Lanes []struct {
		Name  string     `json:"name"`
		Last  *reading   `json:"last"`
		Thumb *thumbView `json:"thumb"`
	} `json:"lanes"`
}

// The frame a thermal array's reading was measured from reaches the lane in
// /api/state as a PNG of the sensor's own 8×8 pixels with its scale; the
// next reading, from a spot thermometer, has none and takes it away.
func TestThermalThumbnailOnTheLane(t *testing.T) {
	th := &fakeThermal{}
	f := newFixture(t, func(o *Opts) { o.Thermal = th })
	m := f.measurement(0, pipeline.VerdictFlag, 38.5)
	m.Device, m.Mono = 1, 42
	th.put(1, 42, faceFrame(38.5))
	th.put(1, 43, faceFrame(36.0)) // another reading's frame
	f.s.Consume(m)

	var st stateWithThumbs
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	tv := st.Lanes[0].Thumb
	if tv == nil {
		t.Fatal("no thumbnail on lane A")
	}
	if tv.At != st.Lanes[0].Last.At || tv.Device != "gate-b" || tv.W != 8 || tv.H != 8 {
		t.Fatalf("thumbnail %+v for the reading %+v", tv, st.Lanes[0].Last)
	}
	if tv.MinC != 22 || tv.MaxC != 38.5 {
		t.Fatalf("scale %.1f–%.1f °C, want 22.0–38.5", tv.MinC, tv.MaxC)
	}
	data, ok := strings.CutPrefix(tv.PNG, "data:image/png;base64,")
	if !ok {
		t.Fatalf("png %.40q is not a data URL", tv.PNG)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 8 || b.Dy() != 8 {
		t.Fatalf("a %v image, want the sensor's 8×8", b)
	}
	// False colour: the face is brighter than the wall, the failed pixel grey.
	lum := func(x, y int) uint32 { r, g, b, _ := img.At(x, y).RGBA(); return r + g + b }
	if lum(3, 2) <= lum(3, 4) || lum(3, 4) <= lum(0, 0) {
		t.Fatalf("the hot band, face and wall are not brighter in that order: %d, %d, %d", lum(3, 2), lum(3, 4), lum(0, 0))
	}
	if r, g, b, _ := img.At(7, 7).RGBA(); r != g || g != b {
		t.Fatalf("the failed pixel is coloured (%d,%d,%d)", r, g, b)
	}
	for _, l := range st.Lanes[1:] {
		if l.Thumb != nil {
			t.Fatalf("lane %s has a thumbnail", l.Name)
		}
	}

	spot := f.measurement(0, pipeline.VerdictPass, 36.6)
	spot.Device, spot.Mono = 0, 43 // same capture time, another device
	f.s.Consume(spot)
	st = stateWithThumbs{}
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if st.Lanes[0].Thumb != nil {
		t.Fatalf("a spot thermometer's reading shows a thumbnail %+v", st.Lanes[0].Thumb)
	}
}

// An even scene (an empty lane) is not stretched into colourful noise: the
// scale spans at least minThermalSpanC.
func TestThermalThumbnailScaleHasAMinimumSpan(t *testing.T) {
	th := &fakeThermal{}
	f := newFixture(t, func(o *Opts) { o.Thermal = th })
	img := ThermalImage{W: 2, H: 1, C: []float64{22.0, 22.3}}
	m := f.measurement(1, pipeline.VerdictRetake, 22.3)
	m.Mono = 7
	th.put(0, 7, img)
	f.s.Consume(m)
	var st stateWithThumbs
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if tv := st.Lanes[1].Thumb; tv == nil || tv.MinC != 22 || tv.MaxC != 22+minThermalSpanC {
		t.Fatalf("thumbnail %+v, want the scale 22.0–24.0", tv)
	}
}

// BenchmarkThermalThumb is the screen's work per thermal reading: the
// frame's scale and its PNG (32×24).
// BenchmarkThermalThumb: one lane tile's thumbnail, against the same
// picture through a fresh png encoder (what the screen did before it pooled
// the compressor) as the baseline in the same run.
func BenchmarkThermalThumb(b *testing.B) {
	th := &fakeThermal{}
	th.put(0, 1, arrayFrame(32, 24, 0.8, 37.0))
	s, err := New(Opts{Thermal: th})
	if err != nil {
		b.Fatal(err)
	}
	m := &pipeline.Measurement{Mono: 1}
	b.Run("pooled-encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s.thumb(m, reading{}) == nil {
				b.Fatal("no thumbnail")
			}
		}
	})
	b.Run("baseline-fresh-encoder", func(b *testing.B) {
		p := image.NewPaletted(image.Rect(0, 0, 32, 24), thermalPalette)
		b.ReportAllocs()
		for b.Loop() {
			var buf bytes.Buffer
			if err := png.Encode(&buf, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
