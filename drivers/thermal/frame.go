package thermal

import "github.com/gatescreen/gatescreen/drivers"

// Frame is one thermal image: object temperatures in °C, row-major, row 0
// at the top of the sensor's view, plus the sensor's own ambient
// temperature. A device fills a Frame it is handed, so a read loop reuses
// one Frame and allocates nothing.
type Frame struct {
	// W and H are the width and height in pixels.
	W, H int
	// C holds W×H object temperatures in °C; C[y*W+x]. A pixel the sensor
	// marks as failed is NaN.
	C []float64
	// AmbientC is the sensor's ambient (die or thermistor) temperature in °C.
	AmbientC float64
	// Flags are the device's verdicts on the frame; an invalid frame is
	// never measured (see drivers.Flags).
	Flags drivers.Flags
}

// NewFrame returns a frame of w×h pixels.
func NewFrame(w, h int) *Frame {
	return &Frame{W: w, H: h, C: make([]float64, w*h)}
}

// At returns the temperature at column x, row y.
func (f *Frame) At(x, y int) float64 { return f.C[y*f.W+x] }
