package sim

import "math"

// ViewPerson is a person in a thermal array's view: the centre of the face
// at lateral offset X and distance D (metres) from the sensor, at its
// height, with HotC the inner-eye and forehead skin temperature.
type ViewPerson struct {
	X, D, HotC float64
}

// surface returns the temperature the ray to the plane point (x, y) at the
// person's distance sees on them, if it hits: a face 15 × 21 cm with hair
// on top, the inner eyes and forehead band at HotC, the rest of the face
// 1.5 °C cooler, the neck 2 °C cooler, clothes at 28 °C.
func (p ViewPerson) surface(x, y float64) (float64, bool) {
	dx := x - p.X
	switch {
	case dx*dx/(0.075*0.075)+y*y/(0.105*0.105) <= 1:
		switch {
		case y > 0.07:
			return 30, true // hair
		case math.Abs(dx) <= 0.06 && y >= -0.01 && y <= 0.05:
			return p.HotC, true // inner eyes and forehead
		}
		return p.HotC - 1.5, true // cheeks, nose, chin
	case math.Abs(dx) <= 0.05 && y < -0.09 && y >= -0.17:
		return p.HotC - 2, true // neck
	case math.Abs(dx) <= 0.22 && y < -0.17:
		return 28, true // clothes
	}
	return 0, false
}

// RenderView fills dst (w×h, row-major, row 0 at the top) with what a
// thermal array with a lens of fovX×fovY radians sees of people in front of
// a background at backgroundC, the nearest in front. Each pixel is the mean
// of 4×4 rays, so a distant face mixes with the background as on a sensor.
func RenderView(dst []float64, w, h int, fovX, fovY, backgroundC float64, people []ViewPerson) {
	const ss = 4
	for row := range h {
		for col := range w {
			sum := 0.0
			for sy := range ss {
				for sx := range ss {
					ax := ((float64(col)+(float64(sx)+0.5)/ss)/float64(w) - 0.5) * fovX
					ay := (0.5 - (float64(row)+(float64(sy)+0.5)/ss)/float64(h)) * fovY
					v, best := backgroundC, math.Inf(1)
					for _, p := range people {
						if p.D >= best {
							continue
						}
						if c, ok := p.surface(p.D*math.Tan(ax), p.D*math.Tan(ay)); ok {
							v, best = c, p.D
						}
					}
					sum += v
				}
			}
			dst[row*w+col] = sum / (ss * ss)
		}
	}
}
