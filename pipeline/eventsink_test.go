package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
)

func TestEventSinkConverts(t *testing.T) {
	store := &caseLog{}
	o := gate()
	s, err := NewEventSink(EventSinkOpts{Store: store, Clock: fixedClock{}, Devices: o.Devices, Lanes: o.Lanes, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	flagged := Measurement{Lane: 1, Device: 1, Verdict: VerdictFlag, Reason: ReasonThreshold, Warnings: WarnAmbientLow,
		Mono: 11, Wall: 22, RawC: 35.1, AmbientC: 12, BodyC: 37.6, Mode: ModeSkin, OffsetC: 2.5, Gain: 1,
		CalibrationID: 3, ThresholdC: 37.3, Ticket: 4, Drill: true}
	flagged.SetPersonID("T-007")
	invalid := Measurement{Lane: 0, Device: 0, Verdict: VerdictInvalid, Reason: ReasonChecksum,
		RawC: nan, AmbientC: nan, BodyC: nan, FrameLen: 2, Frame: [drivers.MaxFrame]byte{0x5a, 0xff}}
	s.Consume(&flagged)
	s.Consume(&invalid)
	if len(store.events) != 2 {
		t.Fatalf("%d events", len(store.events))
	}
	ev := store.events[0]
	if ev.Kind != event.KindReading || !ev.Urgent || !ev.Drill || ev.Mono != 11 || ev.Wall != 22 || ev.BootID != "boot-1" || !ev.ClockSynced {
		t.Errorf("envelope %+v", ev)
	}
	var r event.Reading
	if err := ev.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Lane != "L2" || r.Role != "staff" || r.Device != "gun2" || *r.RawC != 35.1 || *r.AmbientC != 12 || *r.BodyC != 37.6 ||
		r.Verdict != "flag" || r.Reason != "threshold" || len(r.Warnings) != 1 || r.Warnings[0] != "ambient_low" ||
		r.Mode != "skin" || r.OffsetC != 2.5 || r.CalibrationID != 3 || r.ThresholdC != 37.3 || r.PersonID != "T-007" || r.Ticket != "R-004" {
		t.Errorf("flag payload %+v", r)
	}
	ev = store.events[1]
	r = event.Reading{}
	if err := ev.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if ev.Urgent || r.RawC != nil || r.BodyC != nil || r.AmbientC != nil || r.FrameHex != "5aff" || r.Reason != "checksum" || r.Verdict != "invalid" {
		t.Errorf("invalid payload %+v urgent %v", r, ev.Urgent)
	}
	store.fail = errors.New("disk gone")
	s.Consume(&invalid)
	if s.Failed() != 1 {
		t.Errorf("failed = %d", s.Failed())
	}
}

// The whole flow on a running pipeline: a flag on a student lane draws a
// ticket, is stored with it and opens a case; the lane shows it waiting; a
// pass on the re-check lane clears it.
func TestFlagToRecheckFlow(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	store := &caseLog{}
	o := gate()
	var changes []event.Case
	cases := casesAt(t, store, &now, &changes)
	o.Cases = cases
	o.Params.ThresholdC = 37.5
	readings := &caseLog{}
	es, err := NewEventSink(EventSinkOpts{Store: readings, Devices: o.Devices, Lanes: o.Lanes})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	p.AddSink("storage", StorageRingSize, es)
	p.Start(context.Background())
	defer p.Close()

	if got := math.Float64frombits(cases.threshold.Load()); got != 37.5 {
		t.Fatalf("cases threshold %v, want the pipeline's 37.5", got)
	}
	r := temp(37.6, 22)
	r.Wall = now.UnixNano()
	p.Producer(0)(r)
	waitFor(t, func() bool { return len(cases.Open()) == 1 && p.Lanes()[0].Verdict == VerdictFlag })
	if ls := p.Lanes(); ls[0].Awaiting != 1 || ls[0].Ticket != 1 {
		t.Errorf("lane after flag %+v", ls[0])
	}
	// A reload reaches the cases: the doctor's re-checks use it too.
	p.Reload(Params{ThresholdC: 37.0})
	if got := math.Float64frombits(cases.threshold.Load()); got != 37.0 {
		t.Errorf("cases threshold after reload %v, want 37.0", got)
	}
	r = temp(36.6, 22)
	r.Wall = now.UnixNano()
	p.Producer(2)(r)
	waitFor(t, func() bool { return len(cases.Open()) == 0 })
	cs, _ := cases.Get("R-001")
	if cs.State != event.CaseCleared || cs.Actor != "lane:R" {
		t.Errorf("case %+v", cs)
	}
	p.Close()
	if len(readings.events) != 2 {
		t.Fatalf("stored %d readings, want 2", len(readings.events))
	}
	var rd event.Reading
	if err := readings.events[0].Decode(&rd); err != nil || rd.Ticket != "R-001" {
		t.Errorf("stored flag %+v %v", rd, err)
	}
	if p.Lanes()[0].Awaiting != 0 {
		t.Error("lane still awaiting")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	poll.Until(t, 10*time.Second, "the condition", cond)
}

// Stored temperatures carry 0.01 °C, not the float noise of a conversion,
// and the Tag hook completes the payload before it is stored.
func TestEventSinkRoundsAndTags(t *testing.T) {
	store := &caseLog{}
	o := gate()
	s, err := NewEventSink(EventSinkOpts{Store: store, Devices: o.Devices, Lanes: o.Lanes,
		Tag: func(m *Measurement, r *event.Reading) { r.Round, r.Late = "morning", m.Wall > 10 }})
	if err != nil {
		t.Fatal(err)
	}
	m := Measurement{Verdict: VerdictPass, Wall: 11, RawC: 35.22333333333333, AmbientC: 21.499999999, BodyC: 36.123333333333335}
	s.Consume(&m)
	var r event.Reading
	if err := store.events[0].Decode(&r); err != nil {
		t.Fatal(err)
	}
	if *r.RawC != 35.22 || *r.AmbientC != 21.5 || *r.BodyC != 36.12 {
		t.Errorf("temperatures %v %v %v", *r.RawC, *r.AmbientC, *r.BodyC)
	}
	if r.Round != "morning" || !r.Late {
		t.Errorf("tags: round %q late %v", r.Round, r.Late)
	}
}

// #20 item 3: a body-mode reading applies no correction, and says none: it
// carried "gain": 1.
func TestBodyModeReadingCarriesNoCorrection(t *testing.T) {
	s, err := NewEventSink(EventSinkOpts{Store: &caseLog{}, Devices: gate().Devices, Lanes: gate().Lanes})
	if err != nil {
		t.Fatal(err)
	}
	body := s.Reading(&Measurement{Verdict: VerdictPass, Mode: ModeBody, Gain: 1, RawC: 36.5, BodyC: 36.5, AmbientC: 22})
	skin := s.Reading(&Measurement{Verdict: VerdictPass, Mode: ModeSkin, Gain: 1.02, OffsetC: 0.9, RawC: 35, BodyC: 36.6, AmbientC: 22})
	b, _ := json.Marshal(body)
	if strings.Contains(string(b), `"gain"`) || strings.Contains(string(b), `"offset_c"`) {
		t.Errorf("body-mode reading %s carries a correction", b)
	}
	if skin.Gain != 1.02 || skin.OffsetC != 0.9 {
		t.Errorf("skin-mode reading lost its correction: gain %v offset %v", skin.Gain, skin.OffsetC)
	}
}

// A calibrated skin-mode device's offset is the configured offset plus the
// calibration's; the wire carries it to 0.01 °C like every temperature
// (docs/mqtt.md), not the float noise of the sum.
func TestSkinModeOffsetOnTheWireIsHundredths(t *testing.T) {
	s, err := NewEventSink(EventSinkOpts{Store: &caseLog{}, Devices: gate().Devices, Lanes: gate().Lanes})
	if err != nil {
		t.Fatal(err)
	}
	configured, calibrated := 0.7, -0.5
	r := s.Reading(&Measurement{Verdict: VerdictPass, Mode: ModeSkin, Gain: 1, OffsetC: configured + calibrated, RawC: 35, BodyC: 35.2, AmbientC: 22})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"offset_c":0.2,`) {
		t.Errorf("offset %v (0.7 + -0.5) went out as %s, want offset_c 0.2", configured+calibrated, b)
	}
}

// The stored body is byte for byte json.Marshal of the payload, for every
// verdict, reason, warning, mode and tag the stages produce: the card and
// the wire do not change with the encoder.
func TestEventSinkBodyIsMarshal(t *testing.T) {
	store := &caseLog{}
	o := gate()
	o.Lanes[0].Name = `lane "1" <东门>` // escapes in the names
	s, err := NewEventSink(EventSinkOpts{Store: store, Devices: o.Devices, Lanes: o.Lanes,
		Tag: func(m *Measurement, r *event.Reading) { r.Round, r.Late = "noon", m.Wall%2 == 0 }})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	n := 0
	for v := VerdictPass; v <= VerdictInvalid; v++ {
		for reason := range reasonCount {
			for _, w := range []Warning{0, WarnAmbientLow, WarnAmbientHigh | WarnNoAmbient} {
				for _, mode := range []CompMode{ModeBody, ModeSkin} {
					n++
					m := Measurement{Lane: uint8(n % 3), Device: uint16(n % 3), Verdict: v, Reason: reason, Warnings: w, Mode: mode,
						Wall: int64(n), RawC: 30 + float64(n)/7, AmbientC: nan, BodyC: 36 + float64(n%30)/9,
						OffsetC: float64(n%5) / 3, Gain: 1 + float64(n%3)/50, CalibrationID: uint64(n % 4), ThresholdC: 37.3,
						Ticket: uint16(n % 2 * n)}
					if n%4 == 0 {
						m.SetPersonID("S-" + strconv.Itoa(n))
						m.FrameLen = 3
					}
					s.Consume(&m)
					r := s.Reading(&m)
					r.Round, r.Late = "noon", m.Wall%2 == 0
					b, err := json.Marshal(r)
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, b)
				}
			}
		}
	}
	if len(store.events) != len(want) || len(want) < 100 {
		t.Fatalf("%d events stored, %d made", len(store.events), len(want))
	}
	for i, ev := range store.events {
		if !bytes.Equal(ev.Body, want[i]) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, ev.Body, want[i])
		}
	}
}
