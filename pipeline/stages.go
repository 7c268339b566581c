package pipeline

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// Everything in this file runs on the stage goroutine only, except the
// atomic counters, which Stats reads.

// presenceExitRatio: a presence ends when object − ambient falls to this
// share of PresenceDeltaC. The hysteresis keeps a person who tilts their
// head from being cut in two.
const presenceExitRatio = 0.5

// baselineAlpha is the weight of a new idle sample in the stand-in ambient of
// a device that reports none.
const baselineAlpha = 0.05

// invalidEvery bounds how often a continuous device's run of invalid frames
// becomes a measurement when nobody stands in front of it.
const invalidEvery = int64(time.Second)

// relativeMinPasses: the relative rule needs this many passes (or the whole
// window, if smaller) before its median means anything.
const relativeMinPasses = 10

// device is the per-device state of the stages.
type device struct {
	info      DeviceInfo
	lane      int // lane measured by this device, -1 none
	badgeLane int // lane whose badge reader this is, -1 none

	// Stage-local counts; publish copies them to the atomics Stats reads.
	readings, invalid, alarms          uint64
	dirty                              bool
	pubReadings, pubInvalid, pubAlarms atomic.Uint64
	// invalidBy splits invalid by reason (what /metrics shows per device);
	// published only when invalid moved, so valid frames pay nothing.
	invalidBy    [reasonCount]uint64
	pubInvalidBy [reasonCount]atomic.Uint64

	// One-shot stuck detector.
	lastValue uint64
	repeats   int
	// Continuous frozen detector.
	frozenInit    bool
	frozenObj     uint64
	frozenAmb     uint64
	frozenSince   int64
	stuckReported bool
	// Continuous invalid throttling. invalidRun lasts until the line has
	// carried only valid frames for MinDwell, from cleanSince (set when
	// cleaning): a frame that matches its checksum by chance amid garbage is
	// not the start of a person.
	invalidRun      bool
	cleaning        bool
	cleanSince      int64
	lastInvalidMono int64

	seg segState
}

// segState follows one person in front of a continuous device.
type segState struct {
	present     bool
	start, last int64
	win         [MaxStableWindow]float64
	winN        int
	winPos      int
	stable      bool
	plateau     float64
	at          drivers.Reading // frame at the best plateau
	hot         drivers.Reading // hottest frame of the presence
	alarm       bool            // the device raised its alarm during the presence
	baseline    float64         // stand-in ambient when the device has none
	hasBaseline bool
}

// lane is the per-lane state of the stages and what the screen reads.
type lane struct {
	info    Lane
	recheck bool

	// Stage-local counts and last measurement; publish copies them to the
	// atomics and the cell that Stats and Lanes read.
	counts    [VerdictInvalid + 1]uint64
	drills    uint64
	last      laneLast
	dirty     bool
	pubCounts [VerdictInvalid + 1]atomic.Uint64
	pubDrills atomic.Uint64
	cell      laneCell

	badge struct {
		uid   [drivers.MaxFrame]byte
		n     uint8
		mono  int64
		valid bool
	}
	passes  [MaxRelativeWindow]float64
	passN   int
	passPos int
}

// publish makes the round's measurements visible to the sinks and the
// stage's counts and lane states to Stats and Lanes. It runs once per round
// of draining (at most consumeBatch readings per device), not per reading:
// every atomic store is a full barrier, too dear to pay a dozen times per
// reading.
func (p *Pipeline) publish() {
	for _, i := range p.dirtyDevs {
		d := &p.devs[i]
		d.dirty = false
		d.pubReadings.Store(d.readings)
		if d.pubInvalid.Load() != d.invalid {
			d.pubInvalid.Store(d.invalid)
			for r, n := range d.invalidBy {
				if n != 0 {
					d.pubInvalidBy[r].Store(n)
				}
			}
		}
		if d.pubAlarms.Load() != d.alarms { // rare: no barrier per round
			d.pubAlarms.Store(d.alarms)
		}
	}
	p.dirtyDevs = p.dirtyDevs[:0]
	for _, i := range p.dirtyLanes {
		ln := &p.lanes[i]
		ln.dirty = false
		ln.cell.store(&ln.last)
		for v, n := range ln.counts {
			if ln.pubCounts[v].Load() != n {
				ln.pubCounts[v].Store(n)
			}
		}
		if ln.pubDrills.Load() != ln.drills {
			ln.pubDrills.Store(ln.drills)
		}
	}
	p.dirtyLanes = p.dirtyLanes[:0]
	for _, s := range p.sinks {
		s.ring.commit()
	}
}

// markDirty queues the device's counts for the next publish.
func (p *Pipeline) markDirty(d *device, idx uint16) {
	if !d.dirty {
		d.dirty = true
		p.dirtyDevs = append(p.dirtyDevs, int(idx))
	}
}

func (p *Pipeline) process(r *drivers.Reading, injectLane int, drill bool) {
	if int(r.Device) >= len(p.devs) {
		p.unknownDevice.Add(1)
		return
	}
	d := &p.devs[r.Device]
	if r.Kind == drivers.KindBadge {
		p.badge(d, r)
		return
	}
	prm := p.params.Load()
	d.readings++
	p.markDirty(d, r.Device)
	laneIdx := d.lane
	if injectLane >= 0 {
		laneIdx = injectLane
	}
	if laneIdx < 0 {
		p.unrouted.Add(1)
		return
	}
	reason := frameReason(r)
	if reason != ReasonNone {
		d.countInvalid(reason)
	}
	if d.info.Continuous && injectLane < 0 {
		p.segment(d, laneIdx, r, reason, prm)
		return
	}
	if reason == ReasonNone && r.Retake != drivers.RetakeNone {
		// The device saw a person and found no measurement (a thermal array).
		reason = ReasonUnstable
		if int(r.Retake) < len(retakeReasons) {
			reason = retakeReasons[r.Retake]
		}
	}
	if reason == ReasonNone && injectLane < 0 {
		reason = d.stuckOneShot(r.ObjectC, prm.StuckCount)
		if reason != ReasonNone {
			d.countInvalid(reason)
		}
	}
	m := measurementOf(laneIdx, r, drill)
	p.decide(&m, reason, prm)
}

// frameReason is the validate stage's verdict on the frame itself: the
// driver's flags first, then a missing value.
func frameReason(r *drivers.Reading) Reason {
	f := r.Flags
	if r.Kind == drivers.KindTemperature && !f.Invalid() && r.ObjectC == r.ObjectC && !math.IsInf(r.ObjectC, 0) {
		return ReasonNone // the common case, in one test
	}
	switch {
	case r.Kind != drivers.KindTemperature:
		return ReasonMalformed
	case f&drivers.FlagChecksum != 0:
		return ReasonChecksum
	case f&drivers.FlagSensorError != 0:
		return ReasonSensorError
	case f&drivers.FlagOutOfRange != 0:
		return ReasonOutOfRange
	case f&drivers.FlagMalformed != 0:
		return ReasonMalformed
	case f&drivers.FlagStatus != 0:
		return ReasonStatus
	case f.Invalid():
		return ReasonMalformed
	case math.IsNaN(r.ObjectC) || math.IsInf(r.ObjectC, 0):
		return ReasonNaN
	}
	return ReasonNone
}

// countInvalid counts a frame the validate stage rejected, by reason.
func (d *device) countInvalid(r Reason) {
	d.invalid++
	d.invalidBy[r]++
}

// stuckOneShot counts exact repeats of a one-shot device's value.
func (d *device) stuckOneShot(v float64, n int) Reason {
	b := math.Float64bits(v)
	if b == d.lastValue && d.repeats > 0 {
		d.repeats++
	} else {
		d.lastValue, d.repeats = b, 1
	}
	if d.repeats >= n {
		return ReasonStuck
	}
	return ReasonNone
}

// frozen reports whether a continuous device has sent the exact same object
// and ambient values for StuckFor.
func (d *device) frozen(r *drivers.Reading, stuckFor time.Duration) bool {
	o, a := math.Float64bits(r.ObjectC), math.Float64bits(r.AmbientC)
	if !d.frozenInit || o != d.frozenObj || a != d.frozenAmb {
		d.frozenInit, d.frozenObj, d.frozenAmb, d.frozenSince = true, o, a, r.Mono
		d.stuckReported = false
		return false
	}
	return r.Mono-d.frozenSince >= int64(stuckFor)
}

func measurementOf(laneIdx int, r *drivers.Reading, drill bool) Measurement {
	m := Measurement{
		Lane:     uint8(laneIdx),
		Device:   r.Device,
		Flags:    r.Flags,
		Drill:    drill,
		Mono:     r.Mono,
		Wall:     r.Wall,
		RawC:     r.ObjectC,
		AmbientC: r.AmbientC,
		BodyC:    math.NaN(),
	}
	if r.FrameLen > 0 && (r.Flags.Invalid() || r.Kind != drivers.KindTemperature) {
		m.FrameLen, m.Frame = r.FrameLen, r.Frame
	}
	return m
}

// segment turns a continuous stream into one measurement per presence.
func (p *Pipeline) segment(d *device, laneIdx int, r *drivers.Reading, reason Reason, prm *Params) {
	s := &d.seg
	if reason != ReasonNone {
		// An invalid frame ends a presence (the person sees invalid and is
		// measured again); while idle, a run of them is throttled, and no
		// presence starts until the line has been clean for MinDwell.
		emit := s.present || !d.invalidRun || r.Mono-d.lastInvalidMono >= invalidEvery
		s.present, d.invalidRun, d.cleaning = false, true, false
		if emit {
			d.lastInvalidMono = r.Mono
			m := measurementOf(laneIdx, r, false)
			p.decide(&m, reason, prm)
		}
		return
	}
	if d.invalidRun {
		if !d.cleaning {
			d.cleaning, d.cleanSince = true, r.Mono
		}
		if r.Mono-d.cleanSince < int64(prm.Segment.MinDwell) {
			return
		}
		d.invalidRun, d.cleaning = false, false
	}
	// Frozen is a dead sensor while nobody is there, when it reports ambient
	// too (a person standing still at 0.1 °C resolution holds one value, and
	// so does the idle wall before a transmitter that reports no ambient);
	// and during a presence once it has lasted StuckFor, far longer than a
	// measurement takes: a sensor frozen above the presence level would
	// otherwise hold its lane forever and never be reported. Once reported,
	// it stays stuck until a value moves. What the presence measured before
	// stands if it asks for a re-check or a retake: a fever is never
	// dropped; a pass from a frozen number is never shown.
	if d.frozen(r, prm.StuckFor) && (s.present || d.stuckReported || !math.IsNaN(r.AmbientC)) {
		if !d.stuckReported {
			if s.present {
				p.endPresenceUnlessPass(d, laneIdx, prm)
			}
			d.stuckReported, s.present = true, false
			d.countInvalid(ReasonStuck)
			m := measurementOf(laneIdx, r, false)
			p.decide(&m, ReasonStuck, prm)
		}
		return
	}
	ref := r.AmbientC
	if math.IsNaN(ref) && d.info.Idle {
		ref = d.info.IdleC
	} else if math.IsNaN(ref) {
		if !s.hasBaseline {
			s.baseline, s.hasBaseline = r.ObjectC, true
			return
		}
		ref = s.baseline
	}
	delta := r.ObjectC - ref
	sp := &prm.Segment
	if !s.present {
		if delta > sp.PresenceDeltaC {
			s.present, s.start, s.winN, s.stable = true, r.Mono, 0, false
			s.hot, s.alarm = *r, false
			s.add(r, sp.StableWindow, sp.StableSpreadC)
		} else if math.IsNaN(r.AmbientC) && !d.info.Idle {
			s.baseline += (r.ObjectC - s.baseline) * baselineAlpha
		}
		return
	}
	if delta <= sp.PresenceDeltaC*presenceExitRatio {
		p.endPresence(d, laneIdx, prm)
		return
	}
	s.add(r, sp.StableWindow, sp.StableSpreadC)
}

// add appends a presence sample and keeps the best stable plateau: the
// highest mean of any window of k samples whose spread is within spread.
// The highest, because cold skin and a turned head only ever read low.
func (s *segState) add(r *drivers.Reading, k int, spread float64) {
	s.last = r.Mono
	s.alarm = s.alarm || r.Flags&drivers.FlagAlarm != 0
	if r.ObjectC > s.hot.ObjectC {
		s.hot = *r
	}
	s.win[s.winPos] = r.ObjectC
	s.winPos = (s.winPos + 1) % MaxStableWindow
	s.winN++
	if s.winN < k {
		return
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for i := 1; i <= k; i++ {
		v := s.win[(s.winPos-i+MaxStableWindow)%MaxStableWindow]
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	// The epsilon keeps 0.3 °C of spread at 0.01 °C resolution inside 0.3.
	if hi-lo > spread+1e-9 {
		return
	}
	if mean := sum / float64(k); !s.stable || mean > s.plateau {
		s.stable, s.plateau, s.at = true, mean, *r
	}
}

// endPresence decides one presence: its plateau, or a retake when the person
// left too soon or never held still.
func (p *Pipeline) endPresence(d *device, laneIdx int, prm *Params) {
	if m, reason, ok := p.presenceMeasurement(d, laneIdx, prm); ok {
		p.decide(&m, reason, prm)
	}
}

// endPresenceUnlessPass ends a presence whose sensor froze: its measurement
// is decided only if it would not pass (a flag, a device alarm, a retake).
func (p *Pipeline) endPresenceUnlessPass(d *device, laneIdx int, prm *Params) {
	m, reason, ok := p.presenceMeasurement(d, laneIdx, prm)
	if !ok {
		return
	}
	c := prm.comp(m.Device)
	_, _, body := c.apply(m.RawC)
	if reason == ReasonNone && m.Flags&drivers.FlagAlarm == 0 && hundredths(body) < prm.thresholdH {
		return
	}
	p.decide(&m, reason, prm)
}

// presenceMeasurement ends a presence and returns its candidate
// measurement and reason; ok is false when it was nobody.
func (p *Pipeline) presenceMeasurement(d *device, laneIdx int, prm *Params) (m Measurement, reason Reason, ok bool) {
	s := &d.seg
	s.present = false
	if s.winN < 2 && !s.alarm && !reachesThreshold(&s.hot, prm) {
		// One frame is nobody (70 ms at 14 Hz) but may be a frame that
		// matched its checksum by chance amid clean ones: no measurement,
		// unless it says fever, which must never go unasked.
		return m, ReasonNone, false
	}
	reason, src, raw := ReasonNone, &s.at, s.plateau
	switch {
	case s.last-s.start < int64(prm.Segment.MinDwell):
		reason, src, raw = ReasonShortDwell, &s.hot, s.hot.ObjectC
	case !s.stable:
		reason, src, raw = ReasonUnstable, &s.hot, s.hot.ObjectC
	}
	m = measurementOf(laneIdx, src, false)
	m.RawC = raw
	if s.alarm {
		m.Flags |= drivers.FlagAlarm
	}
	return m, reason, true
}

// decide runs the rest of the stages on a candidate measurement: the
// plausibility and ambient part of validate, compensate, classify, identify
// and route.
func (p *Pipeline) decide(m *Measurement, reason Reason, prm *Params) {
	c := prm.comp(m.Device)
	if reason == ReasonNone && !plausible(c.Mode, m.RawC) {
		reason = ReasonOutOfRange
	}
	m.Warnings = ambientWarnings(m.AmbientC, prm)

	m.Mode, m.CalibrationID = c.Mode, c.CalibrationID
	var body float64
	m.Gain, m.OffsetC, body = c.apply(m.RawC)
	m.ThresholdC = prm.ThresholdC

	ln := &p.lanes[m.Lane]
	m.Verdict, m.Reason = p.classify(body, reason, prm, ln)
	if m.Verdict == VerdictPass && m.Flags&drivers.FlagAlarm != 0 {
		// The device says fever and our number says pass: one of the two
		// is wrong, and a fever must not walk through on green.
		m.Verdict, m.Reason = VerdictRetake, ReasonDeviceAlarm
		d := &p.devs[m.Device]
		d.alarms++
		p.markDirty(d, m.Device)
	}
	if m.Verdict != VerdictInvalid {
		m.BodyC = body
	}
	if !m.Drill {
		p.identify(ln, m, prm)
	}
	p.route(ln, m)
}

// apply turns a raw reading into a body temperature: skin readings through
// the device's gain and offset, body-mode readings as they are.
func (c *Compensation) apply(raw float64) (gain, offset, body float64) {
	if c.Mode != ModeSkin {
		return 1, 0, raw
	}
	gain = 1
	if c.Gain != 0 {
		gain = c.Gain
	}
	return gain, c.OffsetC, raw*gain + c.OffsetC
}

// reachesThreshold reports whether a plausible reading's body temperature is
// at or above the threshold.
func reachesThreshold(r *drivers.Reading, prm *Params) bool {
	c := prm.comp(r.Device)
	_, _, body := c.apply(r.ObjectC)
	return plausible(c.Mode, r.ObjectC) && hundredths(body) >= prm.thresholdH
}

func plausible(mode CompMode, raw float64) bool {
	if mode == ModeSkin {
		return raw >= SkinMinC && raw <= SkinMaxC
	}
	return raw >= BodyMinC && raw <= BodyMaxC
}

func ambientWarnings(a float64, prm *Params) Warning {
	switch {
	case math.IsNaN(a):
		return WarnNoAmbient
	case a < prm.AmbientMinC:
		return WarnAmbientLow
	case a > prm.AmbientMaxC:
		return WarnAmbientHigh
	}
	return 0
}

// hundredths rounds a temperature to 0.01 °C, the unit every comparison of
// classify is made in: 37.2999999 (float noise from an offset) is 3730 and
// flags at a 37.3 threshold, 37.29 is 3729 and does not.
func hundredths(c float64) int64 { return int64(math.Round(c * 100)) }

// classify: invalid stays invalid, a retake reason stays a retake; then
// body ≥ threshold flags, body < floor asks for a retake, the optional
// relative rule flags, and everything else passes. Never VerdictNone.
func (p *Pipeline) classify(body float64, reason Reason, prm *Params, ln *lane) (Verdict, Reason) {
	switch reason {
	case ReasonNone:
	case ReasonShortDwell, ReasonUnstable, ReasonBelowFloor, ReasonTooFar, ReasonCrowded:
		return VerdictRetake, reason
	default:
		return VerdictInvalid, reason
	}
	if math.IsNaN(body) || math.IsInf(body, 0) {
		return VerdictInvalid, ReasonNaN
	}
	h := hundredths(body)
	if h >= prm.thresholdH {
		return VerdictFlag, ReasonThreshold
	}
	if h < prm.floorH {
		return VerdictRetake, ReasonBelowFloor
	}
	if prm.Relative.Enabled {
		if med, ok := p.median(ln, prm.Relative.Window); ok && h >= hundredths(med+prm.Relative.DeltaC) {
			return VerdictFlag, ReasonRelative
		}
	}
	return VerdictPass, ReasonNone
}

// median of the lane's last window passes, if there are enough of them.
func (p *Pipeline) median(ln *lane, window int) (float64, bool) {
	n := min(ln.passN, window)
	if n < min(relativeMinPasses, window) || n == 0 {
		return 0, false
	}
	s := p.scratch[:n]
	for i := range n {
		s[i] = ln.passes[(ln.passPos-1-i+MaxRelativeWindow)%MaxRelativeWindow]
	}
	// Insertion sort: n ≤ 256, no allocation, only when the rule is on.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func (ln *lane) recordPass(body float64) {
	ln.passes[ln.passPos] = body
	ln.passPos = (ln.passPos + 1) % MaxRelativeWindow
	ln.passN = min(ln.passN+1, MaxRelativeWindow)
}

func (p *Pipeline) badge(d *device, r *drivers.Reading) {
	if d.badgeLane < 0 {
		p.unrouted.Add(1)
		return
	}
	b := &p.lanes[d.badgeLane].badge
	b.uid, b.n, b.mono, b.valid = r.Frame, r.FrameLen, r.Mono, true
}

// identify pairs the measurement with the lane's last badge swipe if it lies
// within ±BadgeWindow (by Mono) and was not used already. A swipe that
// arrives after the measurement was decided is not paired: the lamp does not
// wait for it.
func (p *Pipeline) identify(ln *lane, m *Measurement, prm *Params) {
	b := &ln.badge
	if !b.valid {
		return
	}
	dt := m.Mono - b.mono
	if dt < 0 {
		dt = -dt
	}
	if dt > int64(prm.BadgeWindow) {
		return
	}
	b.valid = false
	uid := b.uid[:b.n]
	if p.o.Roster == nil {
		m.PersonLen = uint8(copy(m.Person[:], uid))
		return
	}
	id, ok := p.o.Roster(string(uid))
	if !ok {
		p.unknownCards.Add(1)
		return
	}
	m.SetPersonID(id)
}

// route updates the lane, draws a re-check ticket for a flag and pushes the
// measurement to every sink's ring.
func (p *Pipeline) route(ln *lane, m *Measurement) {
	if m.Drill {
		ln.drills++
	} else {
		ln.counts[m.Verdict]++
		if m.Verdict == VerdictPass {
			ln.recordPass(m.BodyC)
		}
	}
	if m.Verdict == VerdictFlag && !ln.recheck && p.o.Cases != nil {
		m.Ticket = p.o.Cases.drawTicket(m.Wall)
	}
	ln.last = laneLast{verdict: m.Verdict, reason: m.Reason, ticket: m.Ticket, drill: m.Drill,
		mono: m.Mono, wall: m.Wall, bodyC: m.BodyC}
	if !ln.dirty {
		ln.dirty = true
		p.dirtyLanes = append(p.dirtyLanes, int(m.Lane))
	}
	if p.benchFanout != nil {
		p.benchFanout(*m)
		return
	}
	for _, s := range p.sinks {
		if s.filter != nil {
			s.scratch = *m
			if !s.filter.Wants(&s.scratch) {
				continue
			}
		}
		s.ring.pushBatched(m)
	}
	for _, s := range p.inline {
		// A copy, as for Wants: m stays on the stage's stack.
		s.scratch = *m
		if s.filter == nil || s.filter.Wants(&s.scratch) {
			s.s.Consume(&s.scratch)
		}
	}
}
