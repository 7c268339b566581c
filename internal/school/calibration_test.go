package school

import (
	"strings"
	"testing"
)

// Check refuses a calibration that misses a limit, naming the limit in
// zh-CN first and English after; limits are inclusive, in hundredths.
func TestCheckCalibration(t *testing.T) {
	l := Limits{MaxSpreadC: 0.3, MaxOffsetC: 5}
	steady := []float64{36.1, 36.2, 36.3, 36.2, 36.2}
	tests := []struct {
		name       string
		ref        float64
		samples    []float64
		configured float64
		offset     float64 // 0: from Calibrate
		want       string  // "" accepted, else a part of the English reason
	}{
		{"steady", 37.0, steady, 0.9, 0, ""},
		{"spread at the limit", 37.0, []float64{36.0, 36.3, 36.15, 36.15, 36.15}, 0.9, 0, ""},
		{"spread 2.36", 37.0, []float64{35.0, 36.2, 37.36, 36.1, 36.3}, 0.9, 0, "max_spread_c"},
		{"correction -7", 30.0, []float64{37, 37, 37, 37, 37}, 0.9, 0, "outside offset_c"},
		{"correction at the limit", 42.0, []float64{37, 37, 37, 37, 37}, 0, 0, ""},
		{"applied offset 5.4", 41.5, []float64{37, 37, 37, 37, 37}, 0.9, 0, "configured offset_c"},
		{"samples off the reference once applied", 37.0, steady, 0.9, 1.2, "from the reference"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			offset, _, spread, err := Calibrate(tc.ref, tc.samples)
			if err != nil {
				t.Fatal(err)
			}
			if tc.offset != 0 {
				offset = tc.offset
			}
			err = Check(tc.ref, tc.samples, offset, spread, tc.configured, l)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Fatalf("accepted, want refused for %s", tc.want)
			case !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "校准被拒绝") ||
				!strings.Contains(err.Error(), "/ calibration refused"):
				t.Fatalf("reason %q, want zh-CN then English naming %q", err, tc.want)
			}
		})
	}
}
