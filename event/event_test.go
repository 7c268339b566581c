package event

import (
	"strings"
	"testing"
)

func TestKindsAndTopics(t *testing.T) {
	topics := map[Kind]string{
		KindReading: "readings", KindGap: "readings", KindCase: "cases",
		KindHealth: "health", KindCalibration: "health", KindDaily: "daily",
	}
	for k, want := range topics {
		if !k.Valid() || k.Topic() != want {
			t.Errorf("%s: valid %v topic %q, want %q", k, k.Valid(), k.Topic(), want)
		}
	}
	if Kind(0).Valid() || Kind(99).Valid() || Kind(99).String() != "kind(99)" {
		t.Error("unknown kinds")
	}
}

func TestNewAndDecodeRoundTrip(t *testing.T) {
	body := 36.6
	ev, err := New(KindReading, Reading{Lane: "L1", BodyC: &body, Verdict: VerdictPass})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ev.Body), "raw_c\":0") {
		t.Fatalf("an unmeasured value became 0: %s", ev.Body)
	}
	var r Reading
	if err := ev.Decode(&r); err != nil || r.Lane != "L1" || *r.BodyC != 36.6 || r.RawC != nil {
		t.Fatalf("decoded %+v %v", r, err)
	}
	ev.Body = []byte("{not json")
	if err := ev.Decode(&r); err == nil || !strings.Contains(err.Error(), "reading") {
		t.Fatalf("bad body: %v", err)
	}
}

// Case.Drill is for the box's components; on the wire the envelope says it.
func TestCaseDrillNotInPayload(t *testing.T) {
	ev, err := New(KindCase, Case{Ticket: "R-001", Day: "2026-11-23", State: CaseAwaitingRecheck, ReadingSeq: 7, Drill: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ev.Body), "drill") || !strings.Contains(string(ev.Body), `"reading_seq":7`) {
		t.Errorf("case payload %s", ev.Body)
	}
}
