package thermal

import (
	"math"
	"math/rand/v2"
	"time"
)

// A synthetic view of people in a lane, for the tracker's tests: an
// MLX90640 (32×24, 55°×35° lens) or, for an 8×8 frame, an AMG8833 (60°×60°).
// Each pixel is the mean of 4×4 rays into the scene, so a distant face mixes
// with the background as it does on the sensor.

const (
	sceneW, sceneH   = 32, 24
	sceneBackgroundC = 22.0
	sceneAmbientC    = 30.0 // the die runs warm
	framePeriod      = 125 * time.Millisecond
)

// person stands with the centre of the face at lateral offset x and
// distance d (metres) from the sensor, at its height. hotC is their
// inner-eye and forehead skin temperature.
type person struct {
	x, d, hotC float64
}

// surface returns the temperature the ray to the plane point (X, Y) at the
// person's distance sees on them, if it hits.
func (p person) surface(X, Y float64) (float64, bool) {
	dx := X - p.x
	switch {
	case dx*dx/(0.075*0.075)+Y*Y/(0.105*0.105) <= 1: // face
		switch {
		case Y > 0.07:
			return 30, true // hair
		case math.Abs(dx) <= 0.06 && Y >= -0.01 && Y <= 0.05:
			return p.hotC, true // inner eyes and forehead
		}
		return p.hotC - 1.5, true // cheeks, nose, chin
	case math.Abs(dx) <= 0.05 && Y < -0.09 && Y >= -0.17:
		return p.hotC - 2, true // neck
	case math.Abs(dx) <= 0.22 && Y < -0.17:
		return 28, true // clothes
	}
	return 0, false
}

// render draws the people (nearest in front) into f with Gaussian noise of
// sigma °C.
func render(f *Frame, people []person, rng *rand.Rand, sigma float64) {
	f.AmbientC, f.Flags = sceneAmbientC, 0
	fovX, fovY := 55*math.Pi/180, 35*math.Pi/180
	if f.W == 8 {
		fovX, fovY = 60*math.Pi/180, 60*math.Pi/180
	}
	const ss = 4
	for row := range f.H {
		for col := range f.W {
			sum := 0.0
			for sy := range ss {
				for sx := range ss {
					ax := ((float64(col)+(float64(sx)+0.5)/ss)/float64(f.W) - 0.5) * fovX
					ay := (0.5 - (float64(row)+(float64(sy)+0.5)/ss)/float64(f.H)) * fovY
					v, best := sceneBackgroundC, math.Inf(1)
					for _, p := range people {
						if p.d >= best {
							continue
						}
						if c, ok := p.surface(p.d*math.Tan(ax), p.d*math.Tan(ay)); ok {
							v, best = c, p.d
						}
					}
					sum += v
				}
			}
			f.C[row*f.W+col] = sum / (ss * ss)
			if rng != nil {
				f.C[row*f.W+col] += rng.NormFloat64() * sigma
			}
		}
	}
}

// walk is a passage: a person comes from 4 m to the distance dwellD in
// 2 s, stands there for dwell, then steps out of view sideways in 1 s;
// then the lane is empty for 1 s.
func walk(hotC, dwellD float64, dwell time.Duration) [][]person {
	var frames [][]person
	approach := int(2 * time.Second / framePeriod)
	for i := range approach {
		d := 4 + (dwellD-4)*float64(i+1)/float64(approach)
		frames = append(frames, []person{{0, d, hotC}})
	}
	for range int(dwell / framePeriod) {
		frames = append(frames, []person{{0, dwellD, hotC}})
	}
	leave := int(time.Second / framePeriod)
	for i := range leave {
		frames = append(frames, []person{{dwellD * float64(i+1) / float64(leave), dwellD, hotC}})
	}
	for range int(time.Second / framePeriod) {
		frames = append(frames, nil)
	}
	return frames
}

// play renders the scenes at 8 Hz in frames of the tracker's size through
// it and returns every measurement.
func play(tr *Tracker, scenes [][]person, seed uint64) []Measurement {
	rng := rand.New(rand.NewPCG(seed, 1))
	f := NewFrame(tr.w, tr.h)
	var got []Measurement
	for i, s := range scenes {
		render(f, s, rng, 0.05)
		got = append(got, tr.Add(f, time.Duration(i)*framePeriod)...)
	}
	return append(got, tr.Flush()...)
}
