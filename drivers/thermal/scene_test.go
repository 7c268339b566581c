package thermal

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/gatescreen/gatescreen/drivers/sim"
)

// Synthetic views of people in a lane for the tracker's tests, rendered by
// the simulator's person model (sim.RenderView).

const (
	sceneW, sceneH   = 32, 24
	sceneBackgroundC = 22.0
	sceneAmbientC    = 30.0 // the die runs warm
	framePeriod      = 125 * time.Millisecond
)

type person = sim.ViewPerson

// render draws the people into f as an MLX90640 (32×24, 55°×35°) or, for an
// 8×8 frame, an AMG8833 (60°×60°) sees them, with Gaussian noise of sigma
// °C (none without rng).
func render(f *Frame, people []person, rng *rand.Rand, sigma float64) {
	f.AmbientC, f.Flags = sceneAmbientC, 0
	fovX, fovY := 55*math.Pi/180, 35*math.Pi/180
	if f.W == 8 {
		fovX, fovY = 60*math.Pi/180, 60*math.Pi/180
	}
	sim.RenderView(f.C, f.W, f.H, fovX, fovY, sceneBackgroundC, people)
	if rng != nil {
		for i := range f.C {
			f.C[i] += rng.NormFloat64() * sigma
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
		frames = append(frames, []person{{X: 0, D: d, HotC: hotC}})
	}
	for range int(dwell / framePeriod) {
		frames = append(frames, []person{{X: 0, D: dwellD, HotC: hotC}})
	}
	leave := int(time.Second / framePeriod)
	for i := range leave {
		frames = append(frames, []person{{X: dwellD * float64(i+1) / float64(leave), D: dwellD, HotC: hotC}})
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
