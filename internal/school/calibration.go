package school

import (
	"errors"
	"fmt"
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

// Limits are what a calibration must meet before it is stored and applied.
type Limits struct {
	// MaxSpreadC bounds the spread of the samples, and how far each
	// corrected sample may land from the reference (calibration.max_spread_c).
	MaxSpreadC float64
	// MaxOffsetC bounds the correction and the offset it makes with the
	// configured one, both to ±MaxOffsetC (the range of devices[].offset_c):
	// a larger correction means the reference or the sensor is wrong, and
	// applied it can push a fever under the threshold.
	MaxOffsetC float64
}

// Check refuses a calibration of correction offsetC (from Calibrate) for a
// device configured with configuredC that misses the limits. The error is
// what the person at the gate reads: zh-CN first, then English.
func Check(referenceC float64, samples []float64, offsetC, spreadC, configuredC float64, l Limits) error {
	// Comparisons in hundredths, the resolution Calibrate rounds to.
	h := func(v float64) int64 { return int64(math.Round(v * 100)) }
	switch {
	case h(spreadC) > h(l.MaxSpreadC):
		return fmt.Errorf("校准被拒绝：读数离散 %.2f °C，超过 %.2f °C，请稳住设备后重做 / calibration refused: the samples spread %.2f °C, wider than calibration.max_spread_c %.2f °C; hold the device steady and repeat",
			spreadC, l.MaxSpreadC, spreadC, l.MaxSpreadC)
	case h(math.Abs(offsetC)) > h(l.MaxOffsetC):
		return fmt.Errorf("校准被拒绝：修正值 %+.2f °C 超出 ±%.2f °C，请检查参考源温度和传感器 / calibration refused: a correction of %+.2f °C is outside offset_c ±%.2f °C; check the reference temperature and the sensor",
			offsetC, l.MaxOffsetC, offsetC, l.MaxOffsetC)
	case h(math.Abs(configuredC+offsetC)) > h(l.MaxOffsetC):
		return fmt.Errorf("校准被拒绝：配置偏移 %+.2f °C 加修正值 %+.2f °C 超出 ±%.2f °C / calibration refused: the configured offset_c %+.2f °C plus the correction %+.2f °C is outside ±%.2f °C; check the reference temperature and offset_c",
			configuredC, offsetC, l.MaxOffsetC, configuredC, offsetC, l.MaxOffsetC)
	}
	// Applied, every sample must read the reference within the spread limit.
	for _, s := range samples {
		if d := s + offsetC - referenceC; h(math.Abs(d)) > h(l.MaxSpreadC) {
			return fmt.Errorf("校准被拒绝：修正后读数 %.2f °C 与参考 %.2f °C 相差超过 %.2f °C / calibration refused: corrected, a sample reads %.2f °C, more than calibration.max_spread_c %.2f °C from the reference %.2f °C",
				s+offsetC, referenceC, l.MaxSpreadC, s+offsetC, l.MaxSpreadC, referenceC)
		}
	}
	return nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
