package thermal

import (
	"testing"
	"time"
)

var sinkN int

// BenchmarkAdd is frame → measurement: one 32×24 frame through the tracker
// (median, blobs, the face's percentile, the plateau window), with a person
// standing at 1 m and with an empty lane.
func BenchmarkAdd(b *testing.B) {
	for _, c := range []struct {
		name   string
		people []person
	}{
		{"person-1m", []person{{X: 0, D: 1, HotC: 36.8}}},
		{"empty", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := NewFrame(sceneW, sceneH)
			renderQuiet(f, c.people)
			tr := NewTracker(sceneW, sceneH, TrackerOpts{})
			t := time.Duration(0)
			b.ReportAllocs()
			for b.Loop() {
				t += framePeriod
				sinkN += len(tr.Add(f, t))
			}
		})
	}
}
