package screen

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"

	"github.com/gatescreen/gatescreen/pipeline"
)

// ThermalImages gives the frame a thermal array's reading was measured
// from, for the thumbnail on the lane's tile. The daemon implements it over
// its thermal arrays (drivers/thermal.Thumbs); a spot thermometer has none.
type ThermalImages interface {
	// ThermalImage returns the frame of device's reading captured at mono
	// (pipeline.Measurement.Mono), if it is still held.
	ThermalImage(device uint16, mono int64) (ThermalImage, bool)
}

// ThermalImage is a thermal array's frame: W×H temperatures in °C,
// row-major, row 0 at the top, NaN for a failed pixel.
type ThermalImage struct {
	W, H int
	C    []float64
}

// thumbView is the thumbnail of the reading of Device at At: a false-colour
// PNG of the sensor's own pixels (32×24 or 8×8, no more detail than the
// sensor has), scaled by the page, with its scale. The page shows it only
// next to that reading, and only while the reading is current.
type thumbView struct {
	At     int64   `json:"at"`
	Device string  `json:"device"`
	W      int     `json:"w"`
	H      int     `json:"h"`
	MinC   float64 `json:"min_c"`
	MaxC   float64 `json:"max_c"`
	PNG    string  `json:"png"` // a data: URL
}

// thermalStops are the colours of the scale from cold to hot; style.css
// draws the same gradient as the scale bar (.thumb-bar).
var thermalStops = [...]color.RGBA{
	{0x00, 0x00, 0x00, 0xff},
	{0x20, 0x00, 0x8c, 0xff},
	{0xb4, 0x00, 0xa0, 0xff},
	{0xff, 0x78, 0x00, 0xff},
	{0xff, 0xdc, 0x00, 0xff},
	{0xff, 0xff, 0xff, 0xff},
}

// thermalLevels is how many colours the scale has; index 0 of the palette
// is a failed pixel's grey.
const thermalLevels = 64

var thermalPalette = func() color.Palette {
	p := color.Palette{color.RGBA{0x60, 0x60, 0x60, 0xff}}
	for i := range thermalLevels {
		x := float64(i) / (thermalLevels - 1) * float64(len(thermalStops)-1)
		k := min(int(x), len(thermalStops)-2)
		f := x - float64(k)
		a, b := thermalStops[k], thermalStops[k+1]
		mix := func(u, v uint8) uint8 { return uint8(math.Round(float64(u) + f*(float64(v)-float64(u)))) }
		p = append(p, color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff})
	}
	return p
}()

// thumbEncoder reuses its compressor between thumbnails: a fresh one is
// most of a megabyte of allocation for a 1 KB picture.
var thumbEncoder = png.Encoder{BufferPool: &encoderPool{}}

type encoderPool struct{ p sync.Pool }

func (e *encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b // nil: the encoder makes one
}

func (e *encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }

// minThermalSpanC keeps an empty, even scene from being stretched into
// colourful noise.
const minThermalSpanC = 2.0

// thumb returns the thumbnail of measurement m shown as r, or nil when its
// device gave no frame (a spot thermometer, an invalid reading).
func (s *Screen) thumb(m *pipeline.Measurement, r reading) *thumbView {
	if s.o.Thermal == nil {
		return nil
	}
	img, ok := s.o.Thermal.ThermalImage(m.Device, m.Mono)
	if !ok || img.W <= 0 || img.H <= 0 || len(img.C) != img.W*img.H {
		return nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range img.C {
		if v == v {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo > hi {
		return nil // every pixel failed
	}
	span := max(hi-lo, minThermalSpanC)
	p := image.NewPaletted(image.Rect(0, 0, img.W, img.H), thermalPalette)
	for i, v := range img.C {
		if v == v {
			p.Pix[i] = uint8(1 + math.Round((v-lo)/span*(thermalLevels-1)))
		}
	}
	var buf bytes.Buffer
	if err := thumbEncoder.Encode(&buf, p); err != nil {
		s.log.Warn().Err(err).Str("device", r.Device).Msg("thermal thumbnail not encoded")
		return nil
	}
	return &thumbView{At: r.At, Device: r.Device, W: img.W, H: img.H,
		MinC: roundTenth(lo), MaxC: roundTenth(lo + span),
		PNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}
}
