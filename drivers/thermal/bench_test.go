package thermal

import (
	"testing"
	"time"
)

var sinkN int

// BenchmarkAdd is frame → measurement: one 32×24 frame through the tracker
// (background, blobs, the face's percentile, the plateau window), with a
// person standing at 1 m and with an empty lane.
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

// BenchmarkPassage is BenchmarkAdd over whole passages (walk up, stand,
// step aside, empty lane; 44 frames, one measurement), with the frames the
// measurement keeps (Measurement.Image) copied as the plateau rises; per
// frame.
func BenchmarkPassage(b *testing.B) {
	var frames []*Frame
	for _, s := range walk(37.5, 1.0, 1500*time.Millisecond) {
		f := NewFrame(sceneW, sceneH)
		renderQuiet(f, s)
		frames = append(frames, f)
	}
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	t := time.Duration(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t += framePeriod
		sinkN += len(tr.Add(frames[i], t))
		i = (i + 1) % len(frames)
	}
}
