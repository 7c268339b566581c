package loadgen

import (
	"fmt"
	"math"
)

// Profile is how the arrival rate varies over a run: Rate(x) at fraction x
// of the run, with a mean of 1 over [0, 1).
type Profile interface {
	Rate(x float64) float64
}

// Flat is a constant rate: a sustained load.
type Flat struct{}

// Rate is 1.
func (Flat) Rate(float64) float64 { return 1 }

// Rush is the morning rush of docs/district-deployment.md: the run is the
// morning's window, and people arrive in three waves as grades do (the
// mission's school: the middle school by 6:40, grades 2–4 by 7:20, grade 1
// by 7:40 of a window from 6:10), each wave crowding towards its bell.
// A school's waves come Shift (a fraction of the run, per school) earlier
// or later than another's.
type Rush struct {
	grid []float64
}

// rushWaves: each wave's share of the people and its bell, as a fraction
// of the 90-minute morning from 6:10 (6:40, 7:20, 7:40), and how long
// before its bell the wave starts arriving.
var rushWaves = []struct{ share, bell, spread float64 }{
	{0.30, 30.0 / 90, 25.0 / 90},
	{0.45, 70.0 / 90, 30.0 / 90},
	{0.25, 90.0 / 90, 20.0 / 90},
}

const gridSize = 1000

// NewRush builds the rush profile, normalised to a mean of 1.
func NewRush() *Rush {
	r := &Rush{grid: make([]float64, gridSize)}
	var sum float64
	for i := range r.grid {
		x := (float64(i) + 0.5) / gridSize
		for _, w := range rushWaves {
			// A wave rises linearly to its bell: most arrive in its last minutes.
			if from := w.bell - w.spread; x >= from && x < w.bell {
				r.grid[i] += w.share * 2 * (x - from) / (w.spread * w.spread)
			}
		}
		sum += r.grid[i]
	}
	for i := range r.grid {
		r.grid[i] *= gridSize / sum
	}
	return r
}

// Rate is the rush's rate at fraction x of the run (0 outside [0, 1)).
func (r *Rush) Rate(x float64) float64 {
	if x < 0 || x >= 1 || math.IsNaN(x) {
		return 0
	}
	return r.grid[int(x*gridSize)]
}

// Peak is the highest rate of the profile (its mean is 1).
func (r *Rush) Peak() float64 {
	var p float64
	for _, v := range r.grid {
		p = max(p, v)
	}
	return p
}

// ParseProfile is a profile by name: rush or flat.
func ParseProfile(name string) (Profile, error) {
	switch name {
	case "rush":
		return NewRush(), nil
	case "flat":
		return Flat{}, nil
	}
	return nil, fmt.Errorf("loadgen: profile %q: want rush or flat", name)
}
