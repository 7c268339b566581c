package thermal

import (
	"math"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/sim"
)

// warmShare is the share of f's pixels PresenceDeltaC (2 °C) above the
// scenes' background.
func warmShare(f *Frame) float64 {
	n := 0
	for _, v := range f.C {
		if v > sceneBackgroundC+2 {
			n++
		}
	}
	return float64(n) / float64(len(f.C))
}

// A fever close to an AMG8833, the face covering more than half its 8×8
// pixels: the frame's median is then the face, not the background. The
// person is one measurement, flagged, measured against the background; it
// was two short_dwell retakes (the person vanished while standing) or, at
// 0.18 m, a flag against a "background" of 35 °C.
func TestNearFaceOnAMG8833IsFlagged(t *testing.T) {
	for _, d := range []float64{0.08, 0.1, 0.12, 0.15, 0.18, 0.2} {
		f := NewFrame(8, 8)
		renderQuiet(f, []person{{X: 0, D: d, HotC: 38.5}})
		if s := warmShare(f); s <= 0.5 {
			t.Fatalf("at %.2f m the face covers %.0f %% of the pixels: not the case under test", d, 100*s)
		}
		got := play(NewTracker(8, 8, TrackerOpts{}), walk(38.5, d, 1500*time.Millisecond), 7)
		if len(got) != 1 || verdict(got[0]) != "flag" {
			t.Errorf("38.5 °C standing at %.2f m: %+v, want one flag", d, got)
			continue
		}
		// Against the wall (a frame of the face sliding out of view may
		// mix in its clothes), not the face.
		if m := got[0]; math.Abs(m.BackgroundC-sceneBackgroundC) >= 2 {
			t.Errorf("at %.2f m measured against a background of %.2f °C, want the wall's %.1f", d, m.BackgroundC, sceneBackgroundC)
		}
	}
}

// The same face already filling the view when the sensor starts (no empty
// frame to learn the background from) is measured, not only seen leaving
// (a short_dwell retake) or not at all.
// The sensor's own ambient (its thermistor) stands in for the background
// the median cannot give.
func TestNearFaceFromTheFirstFrameIsNotLost(t *testing.T) {
	for _, d := range []float64{0.08, 0.12, 0.15, 0.18} {
		for _, hotC := range []float64{37.3, 38.5} {
			var scenes [][]person
			for range 14 {
				scenes = append(scenes, []person{{X: 0, D: d, HotC: hotC}})
			}
			for i := range 4 { // steps aside
				scenes = append(scenes, []person{{X: 0.05 * float64(i+1), D: d, HotC: hotC}})
			}
			scenes = append(scenes, make([][]person, 8)...)
			got := play(NewTracker(8, 8, TrackerOpts{}), scenes, 3)
			if len(got) != 1 || verdict(got[0]) != "flag" {
				t.Errorf("%.1f °C at %.2f m from the first frame: %+v, want one flag", hotC, d, got)
			}
		}
	}
}

// The sun comes onto the wall behind an empty lane, 22 → 27 °C at once: the
// median is the background again (no face-warm pixel says otherwise), not a
// lane-wide person, and the next person passes measured against the wall.
func TestBackgroundFollowsAWarmedWall(t *testing.T) {
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	fovX, fovY := 55*math.Pi/180, 35*math.Pi/180
	var got []Measurement
	i := 0
	show := func(wallC float64, scenes [][]person) {
		for _, s := range scenes {
			f.AmbientC, f.Flags = sceneAmbientC, 0
			sim.RenderView(f.C, f.W, f.H, fovX, fovY, wallC, s)
			got = append(got, tr.Add(f, time.Duration(i)*framePeriod)...)
			i++
		}
	}
	show(sceneBackgroundC, make([][]person, 16))
	show(27, make([][]person, 4))
	show(27, walk(36.6, 1.0, 1500*time.Millisecond))
	got = append(got, tr.Flush()...)
	if len(got) != 1 || verdict(got[0]) != "pass" || math.Abs(got[0].BackgroundC-27) > 0.1 {
		t.Fatalf("%+v, want one pass against the 27 °C wall", got)
	}
}

// A sensor whose ambient reads below the wall (18 °C against 22) starts
// with two people abreast already in view, 1 m away: the median is the
// wall, not a face, so it stays the background. With the ambient instead
// the whole frame would be one blob and the two people one number.
func TestAmbientBelowTheWallIsNoBackground(t *testing.T) {
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	var got []Measurement
	scenes := twoAbreast()[16:] // from the first frame at 1 m
	for i, s := range scenes {
		renderQuiet(f, s)
		f.AmbientC = 18
		got = append(got, tr.Add(f, time.Duration(i)*framePeriod)...)
	}
	got = append(got, tr.Flush()...)
	if len(got) != 2 || got[0].Retake != drivers.RetakeCrowded || got[1].Retake != drivers.RetakeCrowded {
		for _, m := range got {
			t.Logf("%s at %.2f °C against %.2f", verdict(m), m.ObjectC, m.BackgroundC)
		}
		t.Fatalf("%d measurements, want two crowded retakes", len(got))
	}
}
