package thermal

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// verdict is the pipeline's rule on a body-mode measurement with its
// defaults (37.3 °C flags, below 35.0 retakes, compared in hundredths), for
// the tests' tables.
func verdict(m Measurement) string {
	switch h := math.Round(m.ObjectC * 100); {
	case m.Retake != drivers.RetakeNone:
		return "retake " + m.Retake.String()
	case h >= 3730:
		return "flag"
	case h < 3500:
		return "retake below_floor"
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
	got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), twoAbreast(), 7)
	if len(got) != 2 {
		t.Fatalf("%d measurements %+v, want two (one per person)", len(got), got)
	}
	for _, m := range got {
		if m.Retake != drivers.RetakeCrowded {
			t.Errorf("measurement %+v, want retake crowded", m)
		}
	}
}

// twoAbreast is a passage at 1 m of two people side by side, 0.5 m apart:
// 36.6 °C on the left, 38.5 °C on the right.
func twoAbreast() [][]person {
	var scenes [][]person
	for _, s := range walk(36.6, 1.0, 1500*time.Millisecond) {
		if len(s) == 0 {
			scenes = append(scenes, nil)
			continue
		}
		a, b := s[0], s[0]
		a.X, b.X, b.HotC = a.X-0.25, b.X+0.25, 38.5
		scenes = append(scenes, []person{a, b})
	}
	return scenes
}

// The next person waiting at 3 m does not spoil the measurement of the one
// in front, and is not measured from there.
func TestQueueBehindIsNotACrowd(t *testing.T) {
	var scenes [][]person
	for _, s := range walk(38.5, 1.0, 1500*time.Millisecond) {
		scenes = append(scenes, append(s, person{X: 0.45, D: 3.0, HotC: 36.6}))
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
	brief := [][]person{{{X: 0, D: 1, HotC: 37}}, {{X: 0, D: 1, HotC: 37}}, {{X: 0, D: 1, HotC: 37}}, nil, nil, nil, nil}
	if got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), brief, 7); len(got) != 1 || got[0].Retake != drivers.RetakeShortDwell {
		t.Errorf("375 ms in view: %+v, want retake short_dwell", got)
	}
	var jumpy [][]person
	for i := range 16 {
		jumpy = append(jumpy, []person{{X: 0, D: 1, HotC: 36 + 1.5*float64(i%2)}})
	}
	jumpy = append(jumpy, nil, nil, nil, nil)
	if got := play(NewTracker(sceneW, sceneH, TrackerOpts{}), jumpy, 7); len(got) != 1 || got[0].Retake != drivers.RetakeUnstable {
		t.Errorf("reading jumping 1.5 °C every frame: %+v, want retake unstable", got)
	}
}

// A person who steps out of view fast (in two frames) is one passage, not a
// measurement and a short second one.
func TestFastLeaveIsOnePassage(t *testing.T) {
	for _, c := range []struct {
		w, h int
		d    float64
	}{{32, 24, 0.8}, {8, 8, 0.3}} {
		var scenes [][]person
		for range 12 {
			scenes = append(scenes, []person{{X: 0, D: c.d, HotC: 37.5}})
		}
		for i := range 3 {
			scenes = append(scenes, []person{{X: c.d * float64(i+1) / 3, D: c.d, HotC: 37.5}})
		}
		scenes = append(scenes, make([][]person, 6)...)
		got := play(NewTracker(c.w, c.h, TrackerOpts{}), scenes, 7)
		if len(got) != 1 || verdict(got[0]) != "flag" {
			t.Errorf("%d×%d at %.1f m: %+v, want one flag", c.w, c.h, c.d, got)
		}
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

// A queue: A is measured while B waits behind at 3 m; A steps aside, B walks
// up and is measured while C waits. Each is measured once, in turn, and A's
// number comes out when A leaves, not when the queue empties.
func TestQueueEachMeasuredInTurn(t *testing.T) {
	waiting := func(hotC float64) person { return person{X: 0.3, D: 3, HotC: hotC} }
	var scenes [][]person
	for i := range 16 { // A walks up to 1 m
		scenes = append(scenes, []person{{X: 0, D: 4 - 3*float64(i+1)/16, HotC: 38.5}, waiting(36.6)})
	}
	for range 12 { // A stands
		scenes = append(scenes, []person{{X: 0, D: 1, HotC: 38.5}, waiting(36.6)})
	}
	for i := range 4 { // A steps aside
		scenes = append(scenes, []person{{X: -0.2 * float64(i+1), D: 1, HotC: 38.5}, waiting(36.6)})
	}
	aLeft := len(scenes)
	for i := range 12 { // B walks up, C waits
		f := float64(i+1) / 12
		scenes = append(scenes, []person{{X: 0.3 * (1 - f), D: 3 - 2*f, HotC: 36.6}, waiting(37.5)})
	}
	for range 12 { // B stands
		scenes = append(scenes, []person{{X: 0, D: 1, HotC: 36.6}, waiting(37.5)})
	}
	for i := range 4 { // B steps aside
		scenes = append(scenes, []person{{X: -0.2 * float64(i+1), D: 1, HotC: 36.6}, waiting(37.5)})
	}
	for range 6 { // C waits
		scenes = append(scenes, []person{waiting(37.5)})
	}
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	rng := rand.New(rand.NewPCG(5, 1))
	f := NewFrame(sceneW, sceneH)
	var got []string
	aAt := -1
	for i, s := range scenes {
		render(f, s, rng, 0.05)
		for _, m := range tr.Add(f, time.Duration(i)*framePeriod) {
			got = append(got, verdict(m))
			if aAt < 0 {
				aAt = i
			}
		}
	}
	if len(got) != 2 || got[0] != "flag" || got[1] != "pass" {
		t.Fatalf("decisions %v, want A's flag, then B's pass", got)
	}
	if aAt > aLeft+4 {
		t.Fatalf("A decided at frame %d, %d frames after stepping out of view", aAt, aAt-aLeft)
	}
}

// B walks up while A, already measured, is still stepping aside: two
// people close for a moment. A keeps the plateau A held alone, B gets the
// one B holds alone after; neither is a crowd.
func TestBriefOverlapIsNoCrowd(t *testing.T) {
	var scenes [][]person
	for range 12 { // A stands
		scenes = append(scenes, []person{{X: -0.1, D: 1, HotC: 38.5}})
	}
	for i := range 3 { // A steps aside left while B comes in from the right
		scenes = append(scenes, []person{{X: -0.1 - 0.25*float64(i+1), D: 1, HotC: 38.5}, {X: 0.45 - 0.15*float64(i+1), D: 1.1, HotC: 36.6}})
	}
	for range 12 { // B stands
		scenes = append(scenes, []person{{X: 0, D: 1.1, HotC: 36.6}})
	}
	scenes = append(scenes, make([][]person, 6)...)
	var got []string
	for _, m := range play(NewTracker(sceneW, sceneH, TrackerOpts{}), scenes, 7) {
		got = append(got, verdict(m))
	}
	if len(got) != 2 || got[0] != "flag" || got[1] != "pass" {
		t.Fatalf("decisions %v, want A's flag and B's pass", got)
	}
}

// A person measured at 1 m who steps back to 3 m and waits there is decided
// when they step back, once, not when they finally leave.
func TestSteppingBackDecidesAtOnce(t *testing.T) {
	var scenes [][]person
	for range 12 {
		scenes = append(scenes, []person{{X: 0, D: 1, HotC: 38.5}})
	}
	back := len(scenes)
	for range 24 {
		scenes = append(scenes, []person{{X: 0, D: 3, HotC: 38.5}})
	}
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	var got []string
	at := -1
	for i, s := range scenes {
		renderQuiet(f, s)
		for _, m := range tr.Add(f, time.Duration(i)*framePeriod) {
			got, at = append(got, verdict(m)), i
		}
	}
	got = append(got, "flush")
	for _, m := range tr.Flush() {
		got = append(got, verdict(m))
	}
	if len(got) != 2 || got[0] != "flag" || at > back+4 {
		t.Fatalf("decisions %v (the first at frame %d, stepped back at %d), want one flag at once", got, at, back)
	}
}
