package thermal

import (
	"math"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// Measurement is the outcome of one person's passage through the view.
type Measurement struct {
	// Retake is why the person must be measured again; RetakeNone means
	// ObjectC is their measurement. Crowded: a lane has one lamp, which
	// cannot say which of two people is the fever, so both are measured
	// again, one at a time.
	Retake drivers.Retake
	// ObjectC is the highest stable plateau of the person's face (see
	// Tracker); with a Retake, the hottest value seen, for the log only.
	ObjectC float64
	// AmbientC is the sensor's ambient temperature at that frame.
	AmbientC float64
	// BackgroundC is the scene's background at that frame (see Tracker).
	BackgroundC float64
	// Pixels is the size of the person's face at that frame (see MinPixels).
	Pixels int
	// Start and End are the times of the first and last frame of the
	// passage, as given to Add.
	Start, End time.Duration
	// Image is the frame the measurement came from (the plateau's, or for
	// a retake the hottest sample's), W×H pixels as given to Add; valid
	// until the next call.
	Image []float64
}

// TrackerOpts tunes a Tracker. The zero value of every field means its
// default; the defaults of the dwell and stability rules are those of the
// pipeline's stream segmenter.
type TrackerOpts struct {
	// PresenceDeltaC: a pixel this much warmer than the background belongs
	// to a person; default 2.0.
	PresenceDeltaC float64
	// MinPixels: a face of fewer pixels than this is too far to measure;
	// default 8, whatever the sensor: about 1.8 m for an MLX90640 with the 55°
	// lens, 0.4 m for an AMG8833. The face is the part of the blob within
	// FaceBandC of its hottest pixels; at a distance its pixels mix with the
	// background and read low (a fever of 38.5 °C reads 36.0 on an AMG8833
	// at 0.6 m, where its face covers 4 pixels), so its size is the distance
	// rule.
	MinPixels int
	// FaceBandC: see MinPixels; default 3.0 (clothes and hair are cooler).
	FaceBandC float64
	// FaceMinC: a blob whose hottest pixels read below this is no face in
	// reach (a distant person mixed with the background, or clothes); it
	// counts as too far; default 33.
	FaceMinC float64
	// HotBandC and Percentile: the person's number is the Percentile
	// (default 0.75) of the pixels within HotBandC (default 1.0) of the
	// blob's second-hottest pixel: the inner eye and forehead region. The
	// single hottest pixel is set aside, so one hot or defective pixel does
	// not make the number.
	HotBandC   float64
	Percentile float64
	// MinDwell: a person close enough for less than this is asked to
	// retake; default 500 ms.
	MinDwell time.Duration
	// StableWindow samples, whose max − min is within StableSpreadC, make a
	// plateau; defaults 3 and 0.3 °C.
	StableWindow  int
	StableSpreadC float64
	// MaxGap: a person not seen for this long has left; default 300 ms.
	MaxGap time.Duration
}

// maxWindow bounds TrackerOpts.StableWindow so a track's window is an array.
const maxWindow = 16

// maxTracks bounds the people followed at once; more blobs than this in one
// frame are one crowd.
const maxTracks = 8

// Tracker turns a stream of frames into one Measurement per person.
//
// In every frame the background is the median pixel, or the background
// learnt from earlier frames when a face close to the sensor makes the
// median (see background); pixels PresenceDeltaC above it, 4-connected, are a person's blob (single pixels are noise). A
// blob is followed from frame to frame by its nearest centroid. Each frame
// a followed blob gives one sample from its hottest region (see HotBandC):
// on a person that is the inner eye and the forehead. Samples from frames
// where the face holds at least MinPixels are close enough to count; among
// them the highest mean of StableWindow consecutive samples within
// StableSpreadC is the person's plateau, as in the pipeline's stream
// segmenter. The passage is decided when the person leaves the view, or,
// once measured, when they are no longer close for MaxGap (stepping back,
// or merging with the next in the queue): the plateau is the measurement,
// or a Retake says why there is none. A decided blob is followed in silence
// until it leaves, and is a new passage only if it stays close again for
// MinDwell.
//
// A Tracker is not safe for concurrent use; Add allocates nothing.
type Tracker struct {
	o       TrackerOpts
	w, h    int
	labels  []int32
	stack   []int32
	scratch []float64
	blobs   [maxTracks + 1]blob
	tracks  [maxTracks]track
	out     []Measurement
	images  [maxTracks][]float64 // out[i].Image
	// bgC is the background model (see background), once bgKnown.
	bgC     float64
	bgKnown bool
}

type blob struct {
	n      int     // pixels of the blob
	face   int     // pixels within FaceBandC of the hottest
	anchor float64 // second-hottest pixel
	cx, cy float64
	value  float64
	used   bool
}

type track struct {
	active      bool
	done        bool          // decided; followed until it leaves
	reclose     time.Duration // when a decided track came close again, −1 not
	blob        *blob         // this frame's, set by match
	near        bool          // its blob was close enough to measure last frame
	crowded     bool          // another person was close too for MinDwell
	crowdSince  time.Duration // since when another person is close too, −1 not
	start, last time.Duration
	closeFirst  time.Duration
	closeLast   time.Duration
	closeN      int
	hot         Measurement // hottest sample, for a retake's log
	best        Measurement // frame of the best plateau
	// hotImg and bestImg are the frames of hot and best.
	hotImg, bestImg []float64
	plateau         float64
	stable          bool
	cx, cy          float64
	win             [maxWindow]float64
	winN            int
}

// NewTracker returns a tracker for frames of w×h pixels.
func NewTracker(w, h int, o TrackerOpts) *Tracker {
	if o.PresenceDeltaC == 0 {
		o.PresenceDeltaC = 2.0
	}
	if o.MinPixels == 0 {
		o.MinPixels = 8
	}
	if o.FaceBandC == 0 {
		o.FaceBandC = 3.0
	}
	if o.FaceMinC == 0 {
		o.FaceMinC = 33
	}
	if o.HotBandC == 0 {
		o.HotBandC = 1.0
	}
	if o.Percentile == 0 {
		o.Percentile = 0.75
	}
	if o.MinDwell == 0 {
		o.MinDwell = 500 * time.Millisecond
	}
	if o.StableWindow <= 0 {
		o.StableWindow = 3
	}
	o.StableWindow = min(o.StableWindow, maxWindow)
	if o.StableSpreadC == 0 {
		o.StableSpreadC = 0.3
	}
	if o.MaxGap == 0 {
		o.MaxGap = 300 * time.Millisecond
	}
	tr := &Tracker{
		o: o, w: w, h: h,
		labels:  make([]int32, w*h),
		stack:   make([]int32, 0, w*h),
		scratch: make([]float64, w*h),
		out:     make([]Measurement, 0, maxTracks),
	}
	for i := range tr.tracks {
		tr.tracks[i].hotImg, tr.tracks[i].bestImg = make([]float64, w*h), make([]float64, w*h)
		tr.images[i] = make([]float64, w*h)
	}
	return tr
}

// Add takes the frame seen at time t (monotonic, increasing) and returns
// the measurements of the people who left, valid until the next call. An
// invalid frame is skipped: the people in view are neither seen nor lost.
func (tr *Tracker) Add(f *Frame, t time.Duration) []Measurement {
	tr.out = tr.out[:0]
	if f.Flags.Invalid() || f.W != tr.w || f.H != tr.h {
		return tr.out
	}
	bg, ok := tr.background(f)
	if !ok {
		return tr.out
	}
	nb := tr.findBlobs(f, bg+tr.o.PresenceDeltaC)
	// Two people close enough to measure are a crowd; one waiting behind,
	// too far to measure, is not.
	near := 0
	for i := range tr.blobs[:nb] {
		if tr.close(&tr.blobs[i]) {
			near++
		}
	}
	crowded := near > 1
	var seen [maxTracks]bool
	tr.match(nb, &seen)
	for i := range tr.tracks {
		k := &tr.tracks[i]
		switch {
		case !k.active:
		case seen[i]:
			k.add(tr, k.blob, f, bg, t, crowded)
		case t-k.last > tr.o.MaxGap:
			// Gone from view.
			if !k.done {
				tr.end(k)
			}
			k.active = false
		}
	}
	for i := range tr.blobs[:nb] {
		b := &tr.blobs[i]
		if b.used {
			continue
		}
		for j := range tr.tracks {
			if k := &tr.tracks[j]; !k.active {
				k.reset(t)
				k.add(tr, b, f, bg, t, crowded)
				break
			}
		}
	}
	return tr.out
}

// Flush ends every passage in progress (the device stops) and returns their
// measurements, valid until the next call.
func (tr *Tracker) Flush() []Measurement {
	tr.out = tr.out[:0]
	for i := range tr.tracks {
		if k := &tr.tracks[i]; k.active {
			if !k.done {
				tr.end(k)
			}
			k.active = false
		}
	}
	return tr.out
}

// bgRate is the weight of a frame's median in the background model while
// someone is in view: about a second of frames at 8 Hz.
const bgRate = 1.0 / 8

// background returns the scene's background in frame f: its median pixel,
// unless the median is itself skin-warm (FaceMinC − FaceBandC, the face's
// band) and warmer than the reference by PresenceDeltaC/2 while two pixels
// or more are face-warm (FaceMinC). A face close to the sensor
// covers more than half of it (an AMG8833's 8×8 within about 0.2 m), and the
// median is then the face: the person would vanish, or be measured against
// themself. The reference is the model learnt from the frames whose median
// was the background (an empty lane's median outright); before the first, the sensor's ambient temperature
// (an AMG8833's thermistor is the room's, an MLX90640's die runs warmer
// than the room, and a sensor in a draught may read below it). A median
// below the face's band is a wall, whatever the reference says: a stale
// model or a cold sensor would otherwise make the whole frame one blob, and
// two people one number. Without a face-warm pixel the median is the
// background too (the sun on the wall behind the lane).
func (tr *Tracker) background(f *Frame) (float64, bool) {
	s, warm := tr.scratch[:0], 0
	for _, v := range f.C {
		if v == v { // not NaN
			s = append(s, v)
		}
		if v >= tr.o.FaceMinC {
			warm++
		}
	}
	if len(s) == 0 {
		return 0, false
	}
	med := kth(s, len(s)/2)
	ref, known := tr.bgC, tr.bgKnown
	if !known && f.AmbientC == f.AmbientC {
		ref, known = f.AmbientC, true
	}
	switch {
	case known && warm >= 2 && med > ref+tr.o.PresenceDeltaC/2 && med >= tr.o.FaceMinC-tr.o.FaceBandC:
		return ref, true
	case warm < 2 || !tr.bgKnown:
		tr.bgC, tr.bgKnown = med, true
	default:
		tr.bgC += bgRate * (med - tr.bgC)
	}
	return med, true
}

// findBlobs labels the 4-connected pixels above thr and keeps the blobs of
// two pixels or more, at most maxTracks+1 of them.
func (tr *Tracker) findBlobs(f *Frame, thr float64) int {
	for i := range tr.labels {
		tr.labels[i] = 0
	}
	nb := 0
	for start, v := range f.C {
		if !(v > thr) || tr.labels[start] != 0 {
			continue
		}
		tr.labels[start] = 1
		stack := append(tr.stack[:0], int32(start))
		vals := tr.scratch[:0]
		var sx, sy float64
		for len(stack) > 0 {
			p := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			x, y := p%tr.w, p/tr.w
			vals = append(vals, f.C[p])
			sx, sy = sx+float64(x), sy+float64(y)
			for _, q := range [4]int{p - 1, p + 1, p - tr.w, p + tr.w} {
				switch {
				case q < 0 || q >= len(f.C), q == p-1 && x == 0, q == p+1 && x == tr.w-1:
					continue
				}
				if tr.labels[q] == 0 && f.C[q] > thr {
					tr.labels[q] = 1
					stack = append(stack, int32(q))
				}
			}
		}
		tr.stack = stack
		n := len(vals)
		if n < 2 || nb == len(tr.blobs) {
			continue
		}
		face, anchor, value := tr.hottest(vals)
		tr.blobs[nb] = blob{n: n, face: face, anchor: anchor, cx: sx / float64(n), cy: sy / float64(n), value: value}
		nb++
	}
	return nb
}

// hottest returns the face size, the second-hottest pixel and the person's
// number from a blob's pixels (at least two), reordering them.
func (tr *Tracker) hottest(vals []float64) (face int, anchor, value float64) {
	anchor = kth(vals, len(vals)-2) // the hottest pixel is set aside
	hot := 0
	for i, v := range vals {
		if v >= anchor-tr.o.FaceBandC {
			face++
		}
		if v >= anchor-tr.o.HotBandC {
			vals[hot], vals[i] = v, vals[hot]
			hot++
		}
	}
	return face, anchor, kth(vals[:hot], int(tr.o.Percentile*float64(hot-1)+0.5))
}

// close reports whether a blob's face is near enough to measure.
func (tr *Tracker) close(b *blob) bool {
	return b.face >= tr.o.MinPixels && b.anchor >= tr.o.FaceMinC
}

// match pairs tracks with this frame's blobs, best pairs first, each within
// half the frame's width: a person stepping out of view moves several pixels
// a frame (at 0.3 m from an AMG8833, 2–3 of its 8), and a lost track would
// be a second, short passage. Best is nearest, and a near person's track
// prefers a near blob: the person waiting behind, hidden until the one in
// front steps aside, appears where that one stood.
func (tr *Tracker) match(nb int, seen *[maxTracks]bool) {
	radius := float64(tr.w*tr.w) / 4
	for {
		bk, bb, best := -1, -1, math.Inf(1)
		for i := range tr.tracks {
			k := &tr.tracks[i]
			if !k.active || seen[i] {
				continue
			}
			for j := range tr.blobs[:nb] {
				b := &tr.blobs[j]
				d := (b.cx-k.cx)*(b.cx-k.cx) + (b.cy-k.cy)*(b.cy-k.cy)
				if b.used || d > radius {
					continue
				}
				if k.near != tr.close(b) {
					d += radius
				}
				if d < best {
					bk, bb, best = i, j, d
				}
			}
		}
		if bk < 0 {
			return
		}
		seen[bk], tr.blobs[bb].used, tr.tracks[bk].blob = true, true, &tr.blobs[bb]
	}
}

// reset starts a new passage at t; the frame buffers stay.
func (k *track) reset(t time.Duration) {
	*k = track{active: true, start: t, crowdSince: -1, hotImg: k.hotImg, bestImg: k.bestImg}
	k.hot.ObjectC = math.Inf(-1)
}

// add follows the track to its blob b of frame f (background bg) at t;
// crowded says another person is close too.
func (k *track) add(tr *Tracker, b *blob, f *Frame, bg float64, t time.Duration, crowded bool) {
	b.used = true
	if k.done && k.stillDecided(tr, b, t) {
		k.last, k.cx, k.cy, k.near = t, b.cx, b.cy, tr.close(b)
		return
	}
	k.last, k.cx, k.cy, k.near = t, b.cx, b.cy, tr.close(b)
	m := Measurement{ObjectC: b.value, AmbientC: f.AmbientC, BackgroundC: bg, Pixels: b.face}
	if m.ObjectC > k.hot.ObjectC {
		k.hot = m
		copy(k.hotImg, f.C)
	}
	if !tr.close(b) {
		k.far(tr, t)
		return
	}
	if k.closeN == 0 {
		k.closeFirst = t
	}
	k.closeLast = t
	k.closeN++
	if crowded {
		// Another person is close too: no plateau from these frames, and
		// if it lasts MinDwell, no number for either of them. A moment's
		// overlap (the next one stepping up as this one steps aside) is
		// not a crowd: a plateau held alone is this person's own.
		if k.crowdSince < 0 {
			k.crowdSince = t
		}
		k.crowded = k.crowded || t-k.crowdSince >= tr.o.MinDwell
		k.winN = 0
		return
	}
	k.crowdSince = -1
	if k.window(tr, m) {
		copy(k.bestImg, f.C)
	}
}

// stillDecided reports whether a decided track stays decided at t. It is
// followed in silence until it leaves, unless it stays close again for
// MinDwell (someone who stepped back and returned, or the next in the queue
// the track went on to): a new passage, and the track is reset. A face
// flickering at the edge of the view while leaving is not one.
func (k *track) stillDecided(tr *Tracker, b *blob, t time.Duration) bool {
	switch {
	case !tr.close(b):
		k.reclose = -1
	case k.reclose < 0:
		k.reclose = t
	case t-k.reclose >= tr.o.MinDwell:
		k.reset(k.reclose)
	}
	return k.done
}

// far handles a frame in which the person is too far to count: the window
// restarts when the person comes close.
func (k *track) far(tr *Tracker, t time.Duration) {
	k.winN = 0
	switch {
	case k.closeN == 0 || t-k.closeLast <= tr.o.MaxGap:
	case k.stable:
		// Measured, and no longer close: the passage is over even if
		// the blob stays in view (stepping back, or the queue behind
		// that the blob merged with).
		tr.end(k)
		k.done, k.reclose = true, -1
	default:
		// A few close frames that never held still, then far again:
		// forget them; the person is decided when they leave or come
		// close.
		k.closeN, k.best = 0, Measurement{}
	}
}

// window slides the close, uncrowded measurement m into the stable window
// and takes the window's mean as the plateau when it held still and is the
// highest yet; it reports whether it did (m's frame is the plateau's).
func (k *track) window(tr *Tracker, m Measurement) bool {
	n := tr.o.StableWindow
	copy(k.win[:], k.win[1:n])
	k.win[n-1] = m.ObjectC
	k.winN++
	if k.winN < n {
		return false
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range k.win[:n] {
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	if hi-lo > tr.o.StableSpreadC+1e-9 {
		return false
	}
	mean := sum / float64(n)
	if k.stable && mean <= k.plateau {
		return false
	}
	k.stable, k.plateau, k.best = true, mean, m
	k.best.ObjectC = mean
	return true
}

// end decides a passage and appends its measurement. Something never close
// enough and in view for less than MinDwell is nobody to measure: a passer-by
// in the distance, or what is left of a person stepping out of view.
func (tr *Tracker) end(k *track) {
	if k.closeN == 0 && k.last-k.start < tr.o.MinDwell {
		return
	}
	m, img := k.best, k.bestImg
	switch {
	case k.crowded:
		m, m.Retake = k.hot, drivers.RetakeCrowded
	case k.closeN == 0:
		m, m.Retake = k.hot, drivers.RetakeTooFar
	case k.closeLast-k.closeFirst < tr.o.MinDwell:
		m, m.Retake = k.hot, drivers.RetakeShortDwell
	case !k.stable:
		m, m.Retake = k.hot, drivers.RetakeUnstable
	}
	if m.Retake != drivers.RetakeNone {
		img = k.hotImg
	}
	// The track may start a new passage in this call: out keeps a copy.
	m.Image = tr.images[len(tr.out)]
	copy(m.Image, img)
	m.Start, m.End = k.start, k.last
	tr.out = append(tr.out, m)
}

// kth returns the k-th smallest value of s (0-based), reordering s
// (quickselect; no allocation).
func kth(s []float64, k int) float64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		p := s[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i, j = i+1, j-1
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}
