package pipeline

import (
	"math"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

func TestClassifyBoundaries(t *testing.T) {
	body := DeviceInfo{Name: "gun", Mode: ModeBody}
	skin := DeviceInfo{Name: "skin", Mode: ModeSkin, OffsetC: 3.3}
	tests := []struct {
		name    string
		dev     DeviceInfo
		r       drivers.Reading
		verdict Verdict
		reason  Reason
		warn    Warning
		bodyC   float64 // NaN: expect NaN
	}{
		{"37.2 passes", body, temp(37.2, 22), VerdictPass, ReasonNone, 0, 37.2},
		{"37.29 passes", body, temp(37.29, 22), VerdictPass, ReasonNone, 0, 37.29},
		{"37.3 flags", body, temp(37.3, 22), VerdictFlag, ReasonThreshold, 0, 37.3},
		{"float noise below 37.3 flags", body, temp(37.2999999, 22), VerdictFlag, ReasonThreshold, 0, 37.2999999},
		{"skin 34.0 + 3.3 flags", skin, temp(34.0, 22), VerdictFlag, ReasonThreshold, 0, 34.0 + 3.3},
		{"skin 33.9 + 3.3 passes", skin, temp(33.9, 22), VerdictPass, ReasonNone, 0, 33.9 + 3.3},
		{"39.5 flags", body, temp(39.5, 22), VerdictFlag, ReasonThreshold, 0, 39.5},
		{"35.0 passes", body, temp(35.0, 22), VerdictPass, ReasonNone, 0, 35.0},
		{"34.9 retake", body, temp(34.9, 22), VerdictRetake, ReasonBelowFloor, 0, 34.9},
		{"NaN invalid", body, temp(nan, 22), VerdictInvalid, ReasonNaN, 0, nan},
		{"checksum invalid", body, drivers.Invalid(drivers.FlagChecksum, []byte{0x5a, 0x5a}), VerdictInvalid, ReasonChecksum, WarnNoAmbient, nan},
		{"sensor error invalid", body, drivers.NewTemperature(36.5, 22, drivers.FlagSensorError), VerdictInvalid, ReasonSensorError, 0, nan},
		{"device out of range invalid", body, drivers.NewTemperature(36.5, 22, drivers.FlagOutOfRange), VerdictInvalid, ReasonOutOfRange, 0, nan},
		{"malformed invalid", body, drivers.Invalid(drivers.FlagMalformed, []byte("x")), VerdictInvalid, ReasonMalformed, WarnNoAmbient, nan},
		{"status invalid", body, drivers.NewTemperature(36.5, 22, drivers.FlagStatus), VerdictInvalid, ReasonStatus, 0, nan},
		// The gate's own alarm and our pass disagree: never green (docs/verdict.md).
		{"device alarm overrules a pass", body, drivers.NewTemperature(36.0, 24, drivers.FlagAlarm), VerdictRetake, ReasonDeviceAlarm, 0, 36.0},
		{"device alarm agrees with a flag", body, drivers.NewTemperature(38.0, 24, drivers.FlagAlarm), VerdictFlag, ReasonThreshold, 0, 38.0},
		{"device alarm below the floor stays below_floor", body, drivers.NewTemperature(34.9, 24, drivers.FlagAlarm), VerdictRetake, ReasonBelowFloor, 0, 34.9},
		{"body 29.9 implausible", body, temp(29.9, 22), VerdictInvalid, ReasonOutOfRange, 0, nan},
		{"body 45.1 implausible", body, temp(45.1, 22), VerdictInvalid, ReasonOutOfRange, 0, nan},
		{"skin 24.9 implausible", skin, temp(24.9, 22), VerdictInvalid, ReasonOutOfRange, 0, nan},
		{"skin 43.1 implausible", skin, temp(43.1, 22), VerdictInvalid, ReasonOutOfRange, 0, nan},
		{"ambient 10 warns", body, temp(36.6, 10), VerdictPass, ReasonNone, WarnAmbientLow, 36.6},
		{"ambient 36 warns", body, temp(36.6, 36), VerdictPass, ReasonNone, WarnAmbientHigh, 36.6},
		{"no ambient warns", body, drivers.NewTemperature(36.6, nan, drivers.FlagNoAmbient), VerdictPass, ReasonNone, WarnNoAmbient, 36.6},
		{"cold flag still flags", body, temp(38.0, 5), VerdictFlag, ReasonThreshold, WarnAmbientLow, 38.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := feed(oneLane(t, tc.dev, Params{}), tc.r)
			if len(ms) != 1 {
				t.Fatalf("got %d measurements, want 1", len(ms))
			}
			m := ms[0]
			if m.Verdict != tc.verdict || m.Reason != tc.reason || m.Warnings != tc.warn {
				t.Errorf("got %v/%q warn %v, want %v/%q warn %v", m.Verdict, m.Reason, m.Warnings.Names(), tc.verdict, tc.reason, tc.warn.Names())
			}
			if math.IsNaN(tc.bodyC) != math.IsNaN(m.BodyC) || (!math.IsNaN(tc.bodyC) && math.Abs(m.BodyC-tc.bodyC) > 1e-9) {
				t.Errorf("BodyC = %v, want %v", m.BodyC, tc.bodyC)
			}
			if m.ThresholdC != 37.3 {
				t.Errorf("ThresholdC = %v, want 37.3", m.ThresholdC)
			}
			if m.Verdict == VerdictNone {
				t.Error("VerdictNone left the pipeline")
			}
		})
	}
}

func TestInvalidFrameKeepsBytes(t *testing.T) {
	frame := []byte{0x5a, 0x5a, 0x45, 0x04, 0x0c, 0x78, 0x0d, 0x19, 0x00}
	ms := feed(oneLane(t, DeviceInfo{Name: "gy"}, Params{}), drivers.Invalid(drivers.FlagChecksum, frame))
	if got := ms[0].Frame[:ms[0].FrameLen]; string(got) != string(frame) {
		t.Errorf("frame = % x, want % x", got, frame)
	}
}

func TestCompensationRecorded(t *testing.T) {
	p := oneLane(t, DeviceInfo{Name: "skin", Mode: ModeSkin, OffsetC: 2.0, Gain: 1.01}, Params{})
	m := feed(p, temp(34.0, 22))[0]
	if m.Mode != ModeSkin || m.OffsetC != 2.0 || m.Gain != 1.01 || math.Abs(m.BodyC-(34.0*1.01+2.0)) > 1e-9 {
		t.Errorf("got mode %v offset %v gain %v body %v", m.Mode, m.OffsetC, m.Gain, m.BodyC)
	}
	if err := p.SetCompensation(0, Compensation{Mode: ModeSkin, OffsetC: 3.3, CalibrationID: 7}); err != nil {
		t.Fatal(err)
	}
	m = feed(p, temp(34.0, 22))[0]
	if m.OffsetC != 3.3 || m.Gain != 1 || m.CalibrationID != 7 || m.Verdict != VerdictFlag {
		t.Errorf("after calibration: offset %v gain %v cal %d verdict %v", m.OffsetC, m.Gain, m.CalibrationID, m.Verdict)
	}
	if err := p.SetCompensation(9, Compensation{}); err == nil {
		t.Error("SetCompensation on a missing device: want an error")
	}
	// A reload without Comp keeps the calibration.
	p.Reload(Params{ThresholdC: 38})
	if got := p.Params().Comp[0].CalibrationID; got != 7 {
		t.Errorf("calibration after reload = %d, want 7", got)
	}
}

func TestStuckOneShot(t *testing.T) {
	p := oneLane(t, DeviceInfo{Name: "gun"}, Params{StuckCount: 4})
	ms := feed(p, temp(36.6, 22), temp(36.6, 22), temp(36.6, 22), temp(36.6, 22), temp(36.6, 22), temp(36.7, 22))
	want := []Verdict{VerdictPass, VerdictPass, VerdictPass, VerdictInvalid, VerdictInvalid, VerdictPass}
	for i, m := range ms {
		if m.Verdict != want[i] {
			t.Errorf("reading %d: %v/%v, want %v", i, m.Verdict, m.Reason, want[i])
		}
	}
	if ms[3].Reason != ReasonStuck {
		t.Errorf("reason %v, want stuck", ms[3].Reason)
	}
	if st := p.Stats(); st.Devices[0].Invalid != 2 || st.Lanes[0].Pass != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestRelativeRule(t *testing.T) {
	prm := Params{Relative: Relative{Enabled: true, DeltaC: 1.0, Window: 10}}
	p := oneLane(t, DeviceInfo{Name: "gun"}, prm)
	var rs []drivers.Reading
	for i := range 10 {
		rs = append(rs, temp(35.5+float64(i%5)/10, 22)) // median 35.7
	}
	feed(p, rs...)
	// A flag does not enter the median, so both compare with 35.7 + 1.0.
	ms := feed(p, temp(36.7, 22), temp(36.69, 22))
	if ms[0].Verdict != VerdictFlag || ms[0].Reason != ReasonRelative {
		t.Errorf("36.7: %v/%v, want flag relative", ms[0].Verdict, ms[0].Reason)
	}
	if ms[1].Verdict != VerdictPass {
		t.Errorf("36.69: %v, want pass (median 35.7 + 1.0)", ms[1].Verdict)
	}
	// Off by default.
	p = oneLane(t, DeviceInfo{Name: "gun"}, Params{})
	feed(p, rs...)
	if m := feed(p, temp(36.7, 22))[0]; m.Verdict != VerdictPass {
		t.Errorf("relative off: %v, want pass", m.Verdict)
	}
}

func TestBadgePairing(t *testing.T) {
	roster := map[string]string{"04A1B2": "S-0042"}
	p, err := New(Opts{
		Devices: []DeviceInfo{{Name: "gun"}, {Name: "reader"}},
		Lanes:   []Lane{{Name: "L1", Role: "student", Device: 0, Badge: 1}},
		Roster: func(card string) (string, bool) {
			id, ok := roster[card]
			return id, ok
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.AddSink("test", 64, SinkFunc(func(*Measurement) {}))
	at := func(r drivers.Reading, dev uint16, sec float64) drivers.Reading {
		r.Device, r.Mono = dev, int64(sec*float64(time.Second))
		return r
	}
	ms := feed(p,
		at(drivers.Badge([]byte("04A1B2")), 1, 10),
		at(temp(36.5, 22), 0, 12),   // paired
		at(temp(36.6, 22), 0, 12.5), // the badge is used up
		at(drivers.Badge([]byte("04A1B2")), 1, 20),
		at(temp(36.5, 22), 0, 23.5), // 3.5 s later: outside ±3 s
		at(drivers.Badge([]byte("FFFF")), 1, 30),
		at(temp(36.7, 22), 0, 29), // swipe 1 s after the reading's capture, before its decision
	)
	want := []string{"S-0042", "", "", ""}
	for i, m := range ms {
		if m.PersonID() != want[i] {
			t.Errorf("measurement %d: person %q, want %q", i, m.PersonID(), want[i])
		}
	}
	if got := p.Stats().UnknownCards; got != 1 {
		t.Errorf("unknown cards = %d, want 1", got)
	}
}

func TestBadgeWithoutRosterUsesUID(t *testing.T) {
	p, err := New(Opts{
		Devices: []DeviceInfo{{Name: "gun"}, {Name: "reader"}},
		Lanes:   []Lane{{Name: "L1", Device: 0, Badge: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.AddSink("test", 64, SinkFunc(func(*Measurement) {}))
	b := drivers.Badge([]byte("CAFE01"))
	b.Device = 1
	if m := feed(p, b, temp(36.5, 22))[0]; m.PersonID() != "CAFE01" {
		t.Errorf("person %q, want the card uid", m.PersonID())
	}
}

func TestNewRejectsBadLanes(t *testing.T) {
	devs := []DeviceInfo{{Name: "a"}, {Name: "b"}}
	for name, lanes := range map[string][]Lane{
		"no lanes":      nil,
		"device index":  {{Name: "L1", Device: 5, Badge: -1}},
		"badge index":   {{Name: "L1", Device: 0, Badge: 7}},
		"shared device": {{Name: "L1", Device: 0, Badge: -1}, {Name: "L2", Device: 0, Badge: -1}},
	} {
		if _, err := New(Opts{Devices: devs, Lanes: lanes}); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	p := oneLane(t, DeviceInfo{Name: "gun"}, Params{})
	emit := p.Producer(0)
	rs := benchReadings()
	i := 0
	drop := func(*Measurement) {}
	allocs := testing.AllocsPerRun(2000, func() {
		emit(rs[i%len(rs)])
		i++
		p.inputs[0].consume(consumeBatch, p.onReading)
		p.publish()
		p.sinks[0].ring.consume(consumeBatch, drop)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per reading, want 0", allocs)
	}
}

// Each time a device's own alarm overruled a pass is counted per device,
// so a gate whose threshold is set differently from ours shows up.
func TestDeviceAlarmCountedPerDevice(t *testing.T) {
	p := oneLane(t, DeviceInfo{Name: "gate-1"}, Params{})
	feed(p, drivers.NewTemperature(36.0, 24, drivers.FlagAlarm), drivers.NewTemperature(36.2, 24, 0),
		drivers.NewTemperature(38.0, 24, drivers.FlagAlarm), drivers.NewTemperature(36.4, 24, drivers.FlagAlarm))
	if d := p.Stats().Devices[0]; d.DeviceAlarms != 2 {
		t.Fatalf("device alarms overruling a pass: %d, want 2", d.DeviceAlarms)
	}
}

// A drill between a real person's badge swipe and their reading must not
// take the swipe: the drill's simulated person has no card, and the real
// person behind it keeps their identity.
func TestDrillDoesNotConsumeBadge(t *testing.T) {
	p, err := New(Opts{
		Devices: []DeviceInfo{{Name: "gun"}, {Name: "reader"}},
		Lanes:   []Lane{{Name: "L1", Role: "student", Device: 0, Badge: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.AddSink("test", 64, SinkFunc(func(*Measurement) {}))
	badge := drivers.Badge([]byte("04A1B2"))
	badge.Device, badge.Mono = 1, int64(10*time.Second)
	drill := temp(38.2, 22)
	drill.Mono = int64(10500 * time.Millisecond)
	real := temp(36.5, 22)
	real.Mono = int64(11 * time.Second)
	p.process(&badge, -1, false)
	p.process(&drill, 0, true) // as the inject ring delivers a drill
	ms := feed(p, real)
	if len(ms) != 2 || !ms[0].Drill || ms[0].PersonID() != "" {
		t.Fatalf("drill measurement %+v, want a drill with no person", ms)
	}
	if ms[1].Drill || ms[1].PersonID() != "04A1B2" {
		t.Fatalf("the real person behind the drill: drill %v person %q, want the card 04A1B2", ms[1].Drill, ms[1].PersonID())
	}
}

// Frames a device sent that the validate stage rejected are counted by
// reason too (/metrics shows them per device), valid frames not at all.
func TestInvalidFramesCountedByReason(t *testing.T) {
	p := oneLane(t, gun, Params{StuckCount: 3})
	rs := []drivers.Reading{
		drivers.Invalid(drivers.FlagChecksum, nil), drivers.Invalid(drivers.FlagChecksum, nil),
		drivers.NewTemperature(36.5, 22, drivers.FlagOutOfRange),
		temp(36.1, 22), temp(36.1, 22), temp(36.1, 22), // the third is stuck
		temp(36.6, 22),
	}
	feed(p, rs...)
	d := p.Stats().Devices[0]
	want := map[string]uint64{"checksum": 2, "out_of_range": 1, "stuck": 1}
	if d.Readings != 7 || d.Invalid != 4 || len(d.InvalidBy) != len(want) {
		t.Fatalf("readings %d invalid %d by %v, want 7, 4, %v", d.Readings, d.Invalid, d.InvalidBy, want)
	}
	for r, n := range want {
		if d.InvalidBy[r] != n {
			t.Errorf("%s: %d, want %d", r, d.InvalidBy[r], n)
		}
	}
}
