//go:build bench

package bench

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// runs is the figures of one measurement over its interleaved runs.
type runs struct {
	n                int
	median, min, max float64
	all              []float64
}

func summarise(v []float64) runs {
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return runs{n: len(s), median: m, min: s[0], max: s[len(s)-1], all: v}
}

// note is the RESULT note of a summary: runs, range and every run's value
// in the order they ran.
func (r runs) note(extra string) string {
	each := make([]string, len(r.all))
	for i, v := range r.all {
		each[i] = fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("median_of=%d range=%.3f–%.3f runs=%s %s", r.n, r.min, r.max, strings.Join(each, ","), extra)
}

// version is the last word of a variant's name: "current" or "baseline".
func (runs) version(name string) string { return name[strings.LastIndexByte(name, '_')+1:] }

// verdict prints the PASS or FAIL line of one target, which scripts/bench.sh
// collects, and fails the test on a miss.
func verdict(t testing.TB, name string, ok bool, what string) {
	t.Helper()
	word := "PASS"
	if !ok {
		word = "FAIL"
	}
	report(t, fmt.Sprintf("TARGET %s %s %s", word, name, what))
	if !ok {
		t.Errorf("target missed: %s: %s", name, what)
	}
}

// loadAvg is the 1-minute load average, recorded with each run.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}
