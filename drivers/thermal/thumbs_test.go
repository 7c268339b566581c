package thermal

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// hottest returns the frame's hottest pixel and its index.
func hottestPixel(c []float64) (float64, int) {
	at := 0
	for i, v := range c {
		if v > c[at] {
			at = i
		}
	}
	return c[at], at
}

// A measurement carries the frame it came from: the standing person's, not
// the last frame of the passage (the empty lane when it is decided).
func TestMeasurementCarriesItsFrame(t *testing.T) {
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	var got []Measurement
	for i, s := range walk(38.5, 1.0, 1500*time.Millisecond) {
		renderQuiet(f, s)
		for _, m := range tr.Add(f, time.Duration(i)*framePeriod) {
			m.Image = slices.Clone(m.Image)
			got = append(got, m)
		}
	}
	if len(got) != 1 || verdict(got[0]) != "flag" {
		t.Fatalf("%+v, want one flag", got)
	}
	img := got[0].Image
	if len(img) != sceneW*sceneH {
		t.Fatalf("a frame of %d pixels", len(img))
	}
	warm := 0
	for _, v := range img {
		if v >= 38.5-3 { // the face band (FaceBandC)
			warm++
		}
	}
	if hot, _ := hottestPixel(img); math.Abs(hot-38.5) > 0.01 || warm < 8 {
		t.Fatalf("the flag's frame has %d face pixels (within 3 °C of 38.5) and a hottest of %.2f: not the person close up", warm, hot)
	}
}

// Two people decided in the same frame (both asked to retake, crowded) keep
// a frame each: the second track's frame does not overwrite the first's.
func TestCrowdedRetakesKeepTheirFrames(t *testing.T) {
	scenes := twoAbreast()
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	var images [][]float64
	for i, s := range scenes {
		renderQuiet(f, s)
		for _, m := range tr.Add(f, time.Duration(i)*framePeriod) {
			if m.Retake != drivers.RetakeCrowded {
				t.Fatalf("%+v, want crowded", m)
			}
			if hot, _ := hottestPixel(m.Image); math.Abs(hot-m.ObjectC) > 0.5 {
				t.Errorf("a retake at %.2f °C with a frame whose hottest pixel is %.2f", m.ObjectC, hot)
			}
			images = append(images, slices.Clone(m.Image))
		}
	}
	if len(images) != 2 {
		t.Fatalf("%d retakes, want 2", len(images))
	}
	if len(images[0]) != sceneW*sceneH || len(images[1]) != sceneW*sceneH {
		t.Fatalf("frames of %d and %d pixels", len(images[0]), len(images[1]))
	}
}

// Through the Source and the Thumbs the daemon puts after the runner, each
// measured reading finds its own frame by its capture time; the invalid
// reading finds none, and only the last few are kept.
func TestThumbsFileEachReadingsFrame(t *testing.T) {
	var scenes [][]person
	for _, hotC := range []float64{36.6, 37.5, 38.5, 36.8, 37.0} {
		scenes = append(scenes, walk(hotC, 1.0, time.Second)...)
		scenes = append(scenes, make([][]person, 16)...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &sceneArray{scenes: scenes, invalid: map[int]bool{0: true}, cancel: cancel, rng: rand.New(rand.NewPCG(3, 1))}
	var h Thumbs
	src := NewSource(a, TrackerOpts{MinDwell: 50 * time.Millisecond, MaxGap: 250 * time.Millisecond})
	src.KeepThumbs(&h)
	var got []drivers.Reading
	var frames []Thumb
	mono := int64(0)
	store := h.Emit(func(r drivers.Reading) {
		got = append(got, r)
		th, ok := h.Get(r.Mono)
		if ok != !r.Flags.Invalid() {
			t.Errorf("reading %+v: thumb found %v", r, ok)
		}
		frames = append(frames, th)
	})
	// The runner's stamping.
	if err := src.Run(ctx, func(r drivers.Reading) { mono += 1000; r.Mono = mono; store(r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("%d readings, want an invalid one and five people", len(got))
	}
	for i, r := range got[1:] {
		th := frames[i+1]
		if th.W != sceneW || th.H != sceneH || len(th.C) != sceneW*sceneH || th.Mono != r.Mono {
			t.Fatalf("reading %d: thumb %dx%d of %d pixels at %d, reading at %d", i, th.W, th.H, len(th.C), th.Mono, r.Mono)
		}
		// The frame is the standing person's: its hot region reads what
		// the reading says, within the noise.
		if hot, _ := hottestPixel(th.C); math.Abs(hot-r.ObjectC) > 0.4 {
			t.Errorf("reading %d at %.2f °C has a frame whose hottest pixel is %.2f", i, r.ObjectC, hot)
		}
	}
	// Four are kept: the oldest two (the invalid reading's nothing among
	// them) are gone, the newest four are there.
	for i, r := range got {
		_, ok := h.Get(r.Mono)
		if want := i >= len(got)-thumbsKept; ok != want {
			t.Errorf("reading %d: kept %v, want %v", i, ok, want)
		}
	}
}

// A person too far to measure leaves, and in the same frame the next one
// appears close, on the other side: the track A ended on starts B's passage
// at once. A's
// retake keeps A's frame, not B's first.
func TestFrameOfAnEndedPassageIsKept(t *testing.T) {
	var scenes [][]person
	for range 12 {
		scenes = append(scenes, []person{{X: -1.2, D: 3, HotC: 36.6}})
	}
	scenes = append(scenes, nil, nil) // 250 ms: not yet gone (MaxGap 300 ms)
	for range 12 {
		scenes = append(scenes, []person{{X: 0.3, D: 1, HotC: 38.5}}) // beyond the matching radius
	}
	tr := NewTracker(sceneW, sceneH, TrackerOpts{})
	f := NewFrame(sceneW, sceneH)
	for i, s := range scenes {
		renderQuiet(f, s)
		for _, m := range tr.Add(f, time.Duration(i)*framePeriod) {
			if m.Retake != drivers.RetakeTooFar {
				t.Fatalf("frame %d: %+v, want A's too_far", i, m)
			}
			if hot, _ := hottestPixel(m.Image); math.Abs(hot-m.ObjectC) > 0.5 {
				t.Fatalf("A's retake at %.2f °C carries a frame whose hottest pixel is %.2f (B's)", m.ObjectC, hot)
			}
			return
		}
	}
	t.Fatal("A was never decided")
}
