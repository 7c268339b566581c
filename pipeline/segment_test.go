package pipeline

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// continuous is a streaming skin-mode thermometer with a +2.0 °C offset.
var continuous = DeviceInfo{Name: "gy-mcu90614", Continuous: true, Mode: ModeSkin, OffsetC: 2.0}

func TestSegmenterStreams(t *testing.T) {
	type want struct {
		verdict Verdict
		reason  Reason
		bodyC   float64 // checked within ±0.1 when not NaN
	}
	tests := []struct {
		file string
		want []want
	}{
		{"approach_leave.csv", []want{{VerdictPass, ReasonNone, 36.6}}},
		{"back_to_back.csv", []want{{VerdictPass, ReasonNone, 36.5}, {VerdictFlag, ReasonThreshold, 37.6}}},
		{"hand_wave.csv", []want{{VerdictRetake, ReasonShortDwell, nan}}},
		{"unstable.csv", []want{{VerdictRetake, ReasonUnstable, nan}}},
		{"no_ambient.csv", []want{{VerdictFlag, ReasonThreshold, 37.4}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			rs := loadStream(t, tc.file)
			ms := feed(oneLane(t, continuous, Params{}), rs...)
			if len(ms) != len(tc.want) {
				for _, m := range ms {
					t.Logf("got %v/%v body %.2f at %v", m.Verdict, m.Reason, m.BodyC, time.Duration(m.Mono))
				}
				t.Fatalf("got %d measurements, want %d", len(ms), len(tc.want))
			}
			for i, w := range tc.want {
				m := ms[i]
				if m.Verdict != w.verdict || m.Reason != w.reason {
					t.Errorf("measurement %d: %v/%v, want %v/%v", i, m.Verdict, m.Reason, w.verdict, w.reason)
				}
				if !math.IsNaN(w.bodyC) && math.Abs(m.BodyC-w.bodyC) > 0.1 {
					t.Errorf("measurement %d: body %.2f, want %.2f ± 0.1", i, m.BodyC, w.bodyC)
				}
				if m.Verdict == VerdictPass && m.Mono == 0 {
					t.Errorf("measurement %d: no capture time", i)
				}
			}
		})
	}
}

// A hand waved past must never be shown green, whatever the hand's heat.
func TestSegmenterHandWaveNeverPasses(t *testing.T) {
	for _, hot := range []float64{30, 34.5, 36.5, 40} {
		var rs []drivers.Reading
		for i := range 30 {
			v := 22.2
			if i >= 10 && i < 13 {
				v = hot
			}
			r := temp(v, 22)
			r.Mono = int64(i) * int64(100*time.Millisecond)
			rs = append(rs, r)
		}
		for _, m := range feed(oneLane(t, continuous, Params{}), rs...) {
			if m.Verdict == VerdictPass {
				t.Errorf("hand at %v °C: pass", hot)
			}
		}
	}
}

func TestSegmenterFrozenStream(t *testing.T) {
	p := oneLane(t, continuous, Params{StuckFor: 2 * time.Second})
	var rs []drivers.Reading
	for i := range 50 { // 5 s of the exact same frame
		r := temp(22.5, 22.0)
		r.Mono = int64(i) * int64(100*time.Millisecond)
		rs = append(rs, r)
	}
	ms := feed(p, rs...)
	if len(ms) != 1 || ms[0].Verdict != VerdictInvalid || ms[0].Reason != ReasonStuck {
		t.Fatalf("got %d measurements (%v), want one invalid stuck", len(ms), ms)
	}
	// It comes back when the value moves, and measures people again.
	ms = feed(p, loadStream(t, "approach_leave.csv")...)
	if len(ms) != 1 || ms[0].Verdict != VerdictPass {
		t.Fatalf("after unfreezing: %d measurements, want one pass", len(ms))
	}
}

func TestSegmenterInvalidFrames(t *testing.T) {
	p := oneLane(t, continuous, Params{})
	var rs []drivers.Reading
	for i := range 25 { // 2.5 s of bad checksums while nobody stands there
		r := drivers.Invalid(drivers.FlagChecksum, []byte{0x5a})
		r.Mono = int64(i) * int64(100*time.Millisecond)
		rs = append(rs, r)
	}
	ms := feed(p, rs...)
	if len(ms) != 3 { // at 0 s, 1 s and 2 s
		t.Fatalf("got %d invalid measurements, want 3 (throttled to 1/s)", len(ms))
	}
	if st := p.Stats(); st.Devices[0].Invalid != 25 {
		t.Errorf("invalid count %d, want 25", st.Devices[0].Invalid)
	}
	// An invalid frame in the middle of a presence ends it as invalid at once.
	stream := loadStream(t, "approach_leave.csv")
	bad := drivers.Invalid(drivers.FlagChecksum, nil)
	bad.Mono = stream[30].Mono
	stream[30] = bad
	ms = feed(p, stream...)
	if len(ms) == 0 || ms[0].Verdict != VerdictInvalid {
		t.Fatalf("got %v, want an invalid first", ms)
	}
	for _, m := range ms {
		if m.Verdict == VerdictPass && m.Mono < bad.Mono {
			t.Error("a pass from the frames before the bad one")
		}
	}
}

// A streaming device that raises its alarm on any frame of a presence
// overrules the presence's pass, like a one-shot gate's alarm does.
func TestSegmenterDeviceAlarmDuringPresence(t *testing.T) {
	stream := loadStream(t, "approach_leave.csv")
	for i, r := range stream { // the first frame of the presence: neither its plateau nor its hottest
		if r.ObjectC-r.AmbientC > 1.5 {
			stream[i].Flags |= drivers.FlagAlarm
			break
		}
	}
	ms := feed(oneLane(t, continuous, Params{}), stream...)
	if len(ms) != 1 || ms[0].Verdict != VerdictRetake || ms[0].Reason != ReasonDeviceAlarm {
		t.Fatalf("got %v, want one retake device_alarm", ms)
	}
}

// garbageStream is 60 s of a GY-MCU90614 port at 115200 baud (1280 frames
// a second) receiving random bytes: nearly every frame fails its checksum,
// and the few that match by chance (1 in 256, sometimes two or three in a
// row) carry random values, hot or cold.
func garbageStream(seed uint64) []drivers.Reading {
	rng := rand.New(rand.NewPCG(seed, 14))
	const frames = 60 * 1280
	var rs []drivers.Reading
	for i := 0; i < frames; i++ {
		r := drivers.Invalid(drivers.FlagChecksum, []byte{0x5a, 0x5a, 0x45, 0x04, byte(i)})
		if rng.IntN(256) == 0 {
			r = temp(20+rng.Float64()*20, 15+rng.Float64()*15)
		}
		r.Mono = int64(i) * int64(time.Second) / 1280
		rs = append(rs, r)
		if !r.Flags.Invalid() && rng.IntN(2) == 0 { // and one more right behind it
			i++
			r = temp(20+rng.Float64()*20, 15+rng.Float64()*15)
			r.Mono = int64(i) * int64(time.Second) / 1280
			rs = append(rs, r)
		}
	}
	return rs
}

// Invalid frames never form a person: garbage on the line gave 93 retakes
// in a minute with nobody there, and the lane's lamp went amber for no one.
// What garbage makes is invalid (throttled), never retake, pass or flag.
func TestSegmenterGarbageFormsNoPerson(t *testing.T) {
	for seed := range uint64(5) {
		p := oneLane(t, continuous, Params{})
		n := map[Verdict]int{}
		for _, m := range feed(p, garbageStream(seed)...) {
			n[m.Verdict]++
		}
		if n[VerdictRetake]+n[VerdictPass]+n[VerdictFlag] != 0 || n[VerdictInvalid] == 0 {
			t.Errorf("seed %d: 60 s of garbage gave %d retake, %d pass, %d flag, %d invalid; want only invalid",
				seed, n[VerdictRetake], n[VerdictPass], n[VerdictFlag], n[VerdictInvalid])
		}
	}
}

// A person who steps up right after a burst of garbage is still measured,
// once the line has been clean for MinDwell.
func TestSegmenterMeasuresAfterGarbage(t *testing.T) {
	p := oneLane(t, continuous, Params{})
	stream := loadStream(t, "approach_leave.csv")
	var rs []drivers.Reading
	for i := range 10 {
		r := drivers.Invalid(drivers.FlagChecksum, nil)
		r.Mono = int64(i) * int64(time.Millisecond)
		rs = append(rs, r)
	}
	for _, r := range stream {
		r.Mono += int64(10 * time.Millisecond)
		rs = append(rs, r)
	}
	ms := feed(p, rs...)
	if len(ms) != 2 || ms[0].Verdict != VerdictInvalid || ms[1].Verdict != VerdictPass {
		t.Fatalf("got %v, want one invalid then one pass", ms)
	}
}

// stream builds a continuous device's frames at 100 ms, ambient 22 °C.
func stream(values ...float64) []drivers.Reading {
	rs := make([]drivers.Reading, len(values))
	for i, v := range values {
		rs[i] = temp(v, 22)
		rs[i].Mono = int64(i) * int64(100*time.Millisecond)
	}
	return rs
}

// repeat returns n copies of the pattern vs.
func repeat(n int, vs ...float64) []float64 {
	var out []float64
	for range n {
		out = append(out, vs...)
	}
	return out
}

// The plateau must hold within stable_spread_c (0.3 °C): a presence that
// swings 0.4 °C between frames never holds still and asks for a retake (it
// would pass with the spread doubled), one that swings exactly 0.3 °C
// passes (it would not with the spread halved).
func TestSegmenterPlateauSpread(t *testing.T) {
	idle := repeat(5, 22.2)
	for _, tc := range []struct {
		name    string
		swing   float64
		verdict Verdict
		reason  Reason
	}{
		{"swing 0.4", 0.4, VerdictRetake, ReasonUnstable},
		{"swing 0.3", 0.3, VerdictPass, ReasonNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := append(append([]float64{}, idle...), repeat(6, 34.5, 34.5+tc.swing)...)
			vs = append(vs, idle...)
			ms := feed(oneLane(t, continuous, Params{}), stream(vs...)...)
			if len(ms) != 1 || ms[0].Verdict != tc.verdict || ms[0].Reason != tc.reason {
				t.Fatalf("got %v, want one %v/%v", ms, tc.verdict, tc.reason)
			}
		})
	}
}

// A presence ends when object − ambient falls to half of presence_delta_c
// (1.5 °C): a head tilted so the delta dips to 1.0 °C stays one person (two
// with the exit ratio doubled), a dip to 0.6 °C ends it and the person is
// measured again (one with the ratio halved).
func TestSegmenterExitHysteresis(t *testing.T) {
	idle := repeat(5, 22.2)
	for _, tc := range []struct {
		name string
		dipC float64 // object − ambient at the dip
		want int
	}{
		{"dip to 1.0 keeps the presence", 1.0, 1},
		{"dip to 0.6 ends it", 0.6, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := append(append([]float64{}, idle...), repeat(8, 36.6)...)
			vs = append(vs, 22+tc.dipC, 22+tc.dipC)
			vs = append(vs, repeat(8, 36.6)...)
			vs = append(vs, idle...)
			ms := feed(oneLane(t, DeviceInfo{Name: "gy", Continuous: true, Mode: ModeBody}, Params{}), stream(vs...)...)
			if len(ms) != tc.want {
				t.Fatalf("got %d measurements (%v), want %d", len(ms), ms, tc.want)
			}
			for _, m := range ms {
				if m.Verdict != VerdictPass {
					t.Errorf("measurement %v/%v, want pass", m.Verdict, m.Reason)
				}
			}
		})
	}
}

// A single frame above the presence threshold between idle frames is no
// person: at 14 Hz nobody is there for 70 ms, but a frame that matches its
// checksum by chance amid clean ones is. It made a short_dwell retake. A
// single frame that says fever, by its number or by the device's alarm, is
// asked again all the same: it made no measurement at all.
func TestSegmenterOneFrameIsNoPerson(t *testing.T) {
	idle := repeat(10, 22.2)
	one := func(f drivers.Reading) []Measurement {
		rs := stream(append(append(append([]float64{}, idle...), 0), idle...)...)
		f.Mono = rs[len(idle)].Mono
		rs[len(idle)] = f
		return feed(oneLane(t, continuous, Params{}), rs...)
	}
	if ms := one(temp(34.0, 22)); len(ms) != 0 { // body 36.0 °C
		t.Fatalf("one frame at a normal temperature: got %v, want no measurement", ms)
	}
	for name, f := range map[string]drivers.Reading{
		"threshold":    temp(35.3, 22), // body 37.3 °C
		"fever":        temp(36.5, 22), // body 38.5 °C
		"device alarm": func() drivers.Reading { r := temp(34.0, 22); r.Flags |= drivers.FlagAlarm; return r }(),
	} {
		if ms := one(f); len(ms) != 1 || ms[0].Verdict != VerdictRetake || ms[0].Reason != ReasonShortDwell {
			t.Errorf("one frame, %s: got %v, want one short_dwell retake", name, ms)
		}
	}
	// Just below the threshold is still nobody.
	if ms := one(temp(35.29, 22)); len(ms) != 0 {
		t.Fatalf("one frame at body 37.29 °C: got %v, want no measurement", ms)
	}
	// Two frames are a hand waved past: a retake, as before.
	vs := append(append([]float64{}, idle...), 34.0, 34.0)
	vs = append(vs, idle...)
	if ms := feed(oneLane(t, continuous, Params{}), stream(vs...)...); len(ms) != 1 || ms[0].Reason != ReasonShortDwell {
		t.Fatalf("got %v, want one short_dwell retake", ms)
	}
}

// A sensor that freezes while someone stands before it, above the presence
// level, held the presence forever: no verdict, no stuck report, the device
// still up. After StuckFor it is stuck, once, and a frozen run starts no new
// presence; with or without ambient. A frozen number never passes; what
// it measured that asks for a re-check stands (TestSegmenterFrozenFever).
func TestSegmenterFrozenDuringPresence(t *testing.T) {
	for _, ambient := range []float64{22, math.NaN()} {
		info := continuous
		info.Idle, info.IdleC = true, 22
		p := oneLane(t, info, Params{StuckFor: 2 * time.Second})
		vs := append(repeat(10, 22.2), 34.5, 34.6, 34.5)
		vs = append(vs, repeat(60, 34.6)...) // 6 s frozen at body 36.6 °C
		rs := stream(vs...)
		for i := range rs {
			rs[i].AmbientC = ambient
		}
		ms := feed(p, rs...)
		if len(ms) != 1 || ms[0].Verdict != VerdictInvalid || ms[0].Reason != ReasonStuck {
			t.Fatalf("ambient %v: got %v, want one invalid stuck", ambient, ms)
		}
		if got := time.Duration(ms[0].Mono); got < 3*time.Second || got > 3500*time.Millisecond {
			t.Errorf("ambient %v: stuck at %v, want 2 s after the freeze began (1.3 s)", ambient, got)
		}
		// When the value moves again people are measured again.
		next := loadStream(t, "approach_leave.csv")
		for i := range next {
			next[i].Mono += rs[len(rs)-1].Mono + int64(time.Second)
			next[i].AmbientC = ambient
		}
		if ms := feed(p, next...); len(ms) != 1 || ms[0].Verdict != VerdictPass {
			t.Fatalf("ambient %v: after unfreezing got %v, want one pass", ambient, ms)
		}
	}
}

// A feverish person standing still before a 0.1 °C sensor for StuckFor: the
// fever is flagged, then the sensor is reported stuck; reporting only stuck
// dropped the flag.
func TestSegmenterFrozenFever(t *testing.T) {
	p := oneLane(t, continuous, Params{StuckFor: 2 * time.Second})
	vs := append(repeat(10, 22.2), 36.0, 36.1, 36.0)
	vs = append(vs, repeat(40, 36.1)...) // 4 s frozen at body 38.1 °C
	ms := feed(p, stream(vs...)...)
	if len(ms) != 2 || ms[0].Verdict != VerdictFlag || ms[1].Verdict != VerdictInvalid || ms[1].Reason != ReasonStuck {
		t.Fatalf("got %v, want a flag then invalid stuck", ms)
	}
}
