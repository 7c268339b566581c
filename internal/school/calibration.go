package school

import (
	"errors"
	"math"
)

// MinCalibrationSamples is the fewest samples a calibration accepts.
const MinCalibrationSamples = 5

// Calibrate computes the offset that makes a device read the reference
// source's temperature: offset = reference − mean(samples). Spread is the
// largest minus the smallest sample: a wide spread means the device was
// not held steady or the reference is not uniform.
func Calibrate(referenceC float64, samples []float64) (offsetC, meanC, spreadC float64, err error) {
	if len(samples) < MinCalibrationSamples {
		return 0, 0, 0, errors.New("calibration: too few samples (need at least 5)")
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range samples {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return 0, 0, 0, errors.New("calibration: a sample is not a number")
		}
		lo, hi, sum = math.Min(lo, s), math.Max(hi, s), sum+s
	}
	meanC = sum / float64(len(samples))
	return round2(referenceC - meanC), round2(meanC), round2(hi - lo), nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
