package thermal

import (
	"math"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// verdict is the pipeline's rule on a body-mode measurement (37.3 °C flags,
// compared in hundredths), for the tests' tables.
func verdict(m Measurement) string {
	switch {
	case m.Retake != drivers.RetakeNone:
		return "retake " + m.Retake.String()
	case math.Round(m.ObjectC*100) >= 3730:
		return "flag"
	}
	return "pass"
}

// One person at a time, approaching, standing at three distances and
// leaving: 36.6 passes, 37.3 and 38.5 flag, each measured within 0.1 °C.
func TestOnePersonThreeDistances(t *testing.T) {
	for _, d := range []float64{0.6, 1.0, 1.5} {
		for _, tt := range []struct {
			hotC float64
			want string
		}{{36.6, "pass"}, {37.3, "flag"}, {38.5, "flag"}} {
			got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), walk(tt.hotC, d, 1500*time.Millisecond), 7)
			if len(got) != 1 {
				t.Fatalf("%.1f °C at %.1f m: %d measurements %+v, want one", tt.hotC, d, len(got), got)
			}
			m := got[0]
			if v := verdict(m); v != tt.want {
				t.Errorf("%.1f °C at %.1f m: %s (%.2f °C, face %d px), want %s", tt.hotC, d, v, m.ObjectC, m.Pixels, tt.want)
			}
			if math.Abs(m.ObjectC-tt.hotC) > 0.1 {
				t.Errorf("%.1f °C at %.1f m: measured %.2f °C", tt.hotC, d, m.ObjectC)
			}
			if m.AmbientC != sceneAmbientC || math.Abs(m.BackgroundC-sceneBackgroundC) > 0.1 {
				t.Errorf("ambient %.2f background %.2f, want %v and %v", m.AmbientC, m.BackgroundC, sceneAmbientC, sceneBackgroundC)
			}
		}
	}
}

// The safety sweep: a fever standing anywhere from 0.2 to 4 m in front of
// either array is flagged or asked to retake, never passed.
func TestFeverNeverPassesAtAnyDistance(t *testing.T) {
	for _, size := range [][2]int{{32, 24}, {8, 8}} {
		for d := 0.2; d <= 4; d += 0.1 {
			for _, m := range play(NewTracker(size[0], size[1], TrackerOpts{}), walk(38.5, d, 1500*time.Millisecond), 11) {
				if v := verdict(m); v == "pass" {
					t.Errorf("%d×%d, 38.5 °C standing at %.1f m: pass at %.2f °C (face %d px)", size[0], size[1], d, m.ObjectC, m.Pixels)
				}
			}
		}
	}
}

// The AMG8833's 8×8 pixels measure a face only within about 0.4 m.
func TestAMG8833Distances(t *testing.T) {
	for _, tt := range []struct {
		d, hotC float64
		want    string
	}{
		{0.3, 36.6, "pass"}, {0.3, 37.3, "flag"}, {0.3, 38.5, "flag"},
		{0.6, 38.5, "retake too_far"}, {1.0, 38.5, "retake too_far"},
	} {
		got := play(NewTracker(8, 8, TrackerOpts{}), walk(tt.hotC, tt.d, 1500*time.Millisecond), 7)
		if len(got) != 1 || verdict(got[0]) != tt.want {
			t.Errorf("%.1f °C at %.1f m: %+v, want one %s", tt.hotC, tt.d, got, tt.want)
		}
	}
}

// A person who stops too far away is asked to come closer: a retake, never
// a number, whatever their temperature.
func TestTooFarIsRetake(t *testing.T) {
	for _, d := range []float64{2.5, 3.5} {
		for _, hotC := range []float64{36.6, 37.3, 38.5} {
			got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), walk(hotC, d, 2*time.Second), 7)
			if len(got) != 1 || got[0].Retake != drivers.RetakeTooFar {
				t.Errorf("%.1f °C standing at %.1f m: %+v, want one retake too_far", hotC, d, got)
			}
		}
	}
}

// Two people side by side at 1 m, a fever and a normal temperature: both
// are asked to retake; no measurement carries one number for both.
func TestTwoPeopleNeverOnePass(t *testing.T) {
	var scenes [][]person
	for _, s := range walk(36.6, 1.0, 1500*time.Millisecond) {
		if len(s) == 0 {
			scenes = append(scenes, nil)
			continue
		}
		a, b := s[0], s[0]
		a.x, b.x, b.hotC = a.x-0.25, b.x+0.25, 38.5
		scenes = append(scenes, []person{a, b})
	}
	got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), scenes, 7)
	if len(got) != 2 {
		t.Fatalf("%d measurements %+v, want two (one per person)", len(got), got)
	}
	for _, m := range got {
		if m.Retake != drivers.RetakeCrowded {
			t.Errorf("measurement %+v, want retake crowded", m)
		}
	}
}

// The next person waiting at 3 m does not spoil the measurement of the one
// in front, and is not measured from there.
func TestQueueBehindIsNotACrowd(t *testing.T) {
	var scenes [][]person
	for _, s := range walk(38.5, 1.0, 1500*time.Millisecond) {
		scenes = append(scenes, append(s, person{x: 0.45, d: 3.0, hotC: 36.6}))
	}
	scenes = append(scenes, nil, nil, nil, nil)
	got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), scenes, 7)
	var measured, far int
	for _, m := range got {
		switch m.Retake {
		case drivers.RetakeNone:
			measured++
			if verdict(m) != "flag" {
				t.Errorf("front person: %s %.2f, want flag", verdict(m), m.ObjectC)
			}
		case drivers.RetakeTooFar:
			far++
		default:
			t.Errorf("unexpected %+v", m)
		}
	}
	if measured != 1 || far != 1 {
		t.Fatalf("measured %d, too far %d (%+v); want 1 and 1", measured, far, got)
	}
}

// A person seen for less than MinDwell, and one whose reading never holds
// still, are asked to retake.
func TestShortDwellAndUnstable(t *testing.T) {
	brief := [][]person{{{0, 1, 37}}, {{0, 1, 37}}, {{0, 1, 37}}, nil, nil, nil, nil}
	if got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), brief, 7); len(got) != 1 || got[0].Retake != drivers.RetakeShortDwell {
		t.Errorf("375 ms in view: %+v, want retake short_dwell", got)
	}
	var jumpy [][]person
	for i := range 16 {
		jumpy = append(jumpy, []person{{0, 1, 36 + 1.5*float64(i%2)}})
	}
	jumpy = append(jumpy, nil, nil, nil, nil)
	if got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), jumpy, 7); len(got) != 1 || got[0].Retake != drivers.RetakeUnstable {
		t.Errorf("reading jumping 1.5 °C every frame: %+v, want retake unstable", got)
	}
}

// One defective pixel on the face at 45 °C does not make the number.
func TestHotPixelIsSetAside(t *testing.T) {
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	var got []Measurement
	for i, s := range walk(36.6, 1.0, 1500*time.Millisecond) {
		renderQuiet(f, s)
		if len(s) > 0 {
			f.C[11*sceneW+16] = 45
		}
		got = append(got, tr.Add(f, time.Duration(i)*framePeriod)...)
	}
	if len(got) != 1 || verdict(got[0]) != "pass" || math.Abs(got[0].ObjectC-36.6) > 0.1 {
		t.Fatalf("%+v, want one pass at 36.6", got)
	}
}

// Invalid frames are skipped: they neither end nor feed a passage.
func TestInvalidFramesSkipped(t *testing.T) {
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	var got []Measurement
	for i, s := range walk(38.5, 1.0, 1500*time.Millisecond) {
		renderQuiet(f, s)
		if i%3 == 0 {
			f.Flags = 1 // a checksum failure, say
			for j := range f.C {
				f.C[j] = 20
			}
		}
		got = append(got, tr.Add(f, time.Duration(i)*framePeriod)...)
	}
	if len(got) != 1 || verdict(got[0]) != "flag" {
		t.Fatalf("%+v, want one flag", got)
	}
}

func renderQuiet(f *Frame, s []person) { render(f, s, nil, 0) }

func TestKth(t *testing.T) {
	s := []float64{5, 1, 4, 1, 5, 9, 2, 6}
	want := []float64{1, 1, 2, 4, 5, 5, 6, 9}
	for k := range s {
		c := append([]float64(nil), s...)
		if got := kth(c, k); got != want[k] {
			t.Errorf("kth(%d) = %v, want %v", k, got, want[k])
		}
	}
}
