package uplink

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/sync/clock"
)

var update = flag.Bool("update", false, "rewrite testdata/mqtt golden payloads")

const (
	goldenDir = "../../testdata/mqtt"
	schemaDir = "../../testdata/mqtt/schema"
)

var demoKey = []byte("demo-school-key-do-not-use")

func f64(v float64) *float64 { return &v }

func mustEvent(t testing.TB, seq uint64, k event.Kind, payload any, mod func(*event.Event)) event.Event {
	t.Helper()
	ev, err := event.New(k, payload)
	if err != nil {
		t.Fatal(err)
	}
	ev.Seq = seq
	ev.BootID = "7c0ffee0-1111-4222-8333-444455556666"
	ev.Mono = 3_600e9
	ev.Wall = time.Date(2026, 11, 23, 7, 12, 5, 250e6, time.UTC).UnixNano()
	ev.ClockSynced = true
	if mod != nil {
		mod(&ev)
	}
	return ev
}

// anchoredClock synced at wall 07:00:00 UTC when its monotonic clock read
// 3,000 s, in the boot of the golden events.
func anchoredClock(t testing.TB) *clock.Clock {
	t.Helper()
	path := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(path, []byte("boot-now\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return clock.New(clock.Opts{
		BootIDPath: path,
		SyncedFunc: func() bool { return true },
		Anchors: []clock.Anchor{{
			BootID: "7c0ffee0-1111-4222-8333-444455556666",
			Mono:   3_000e9,
			Wall:   time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC).UnixNano(),
		}},
		Logger: zerolog.Nop(),
	})
}

func goldenUplink(t testing.TB, identity string) *Uplink {
	t.Helper()
	u, err := New(&memOutbox{}, Opts{
		Broker: "tcp://127.0.0.1:1", District: "haidian", School: "school-17", Gate: "east",
		BoxID: "hd17-east", BootID: "7c0ffee0-1111-4222-8333-444455556666", Version: "0.1.0",
		Identity: identity, PseudonymKey: demoKey, Clock: anchoredClock(t), Logger: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// goldenEvents are the examples of docs/mqtt.md.
func goldenEvents(t testing.TB) map[string][]event.Event {
	t.Helper()
	pass := event.Reading{Lane: "lane-1", Role: "student", Device: "gate-1", RawC: f64(35.9), AmbientC: f64(22.5),
		BodyC: f64(36.6), Verdict: event.VerdictPass, Mode: "skin", OffsetC: 0.7, ThresholdC: 37.3,
		PersonID: "S2024-0137", Round: "morning"}
	flagged := event.Reading{Lane: "lane-2", Role: "student", Device: "ir-2", RawC: f64(37.8), AmbientC: f64(22.4),
		BodyC: f64(37.8), Verdict: event.VerdictFlag, Reason: "threshold", Mode: "body", ThresholdC: 37.3,
		Round: "morning", Ticket: "R-003"}
	early := event.Reading{Lane: "staff", Role: "staff", Device: "ir-4", RawC: f64(36.2), AmbientC: f64(14.8),
		BodyC: f64(36.2), Verdict: event.VerdictPass, Warnings: []string{"ambient_low"}, Mode: "body", ThresholdC: 37.3}
	invalid := event.Reading{Lane: "lane-3", Device: "ir-3", Verdict: event.VerdictInvalid, Reason: "checksum",
		ThresholdC: 37.3, FrameHex: "fe0a1234ff"}
	contact := false
	return map[string][]event.Event{
		"readings": {
			mustEvent(t, 101, event.KindReading, pass, nil),
			mustEvent(t, 102, event.KindReading, flagged, func(e *event.Event) { e.Urgent = true }),
			// Captured 10 minutes before NTP synced, with the clock a day behind.
			mustEvent(t, 103, event.KindReading, early, func(e *event.Event) {
				e.ClockSynced = false
				e.Mono = 2_400e9
				e.Wall = time.Date(2026, 11, 22, 6, 40, 0, 0, time.UTC).UnixNano()
			}),
			mustEvent(t, 104, event.KindReading, invalid, nil),
			mustEvent(t, 105, event.KindGap, event.Gap{FromSeq: 40, ToSeq: 99, Count: 60, Reason: "store_full"}, nil),
		},
		"cases": {mustEvent(t, 106, event.KindCase, event.Case{Ticket: "R-003", Day: "2026-11-23", Lane: "lane-2",
			Role: "student", From: event.CaseConfirmed, State: event.CaseReferred, ReadingSeq: 102, FlagC: f64(37.8),
			RecheckC: f64(37.9), ContactHistory: &contact, Disposition: event.DispositionParentFeverClinic,
			Actor: "doctor", PersonID: "S2024-0211", OpenedAt: event.TimeOf(time.Date(2026, 11, 23, 7, 12, 5, 0, time.UTC))}, nil)},
		"health": {mustEvent(t, 107, event.KindHealth, event.Health{Component: "device", Device: "ir-3", State: event.HealthDown,
			Reason: "no frames for 30s"}, nil)},
		"health-calibration": {mustEvent(t, 108, event.KindCalibration, event.Calibration{ID: 4, Device: "ir-2",
			ReferenceC: 37.0, Samples: []float64{36.8, 36.9, 36.8}, MeanC: 36.83, SpreadC: 0.1, OffsetC: 0.17,
			At: event.TimeOf(time.Date(2026, 11, 23, 6, 20, 0, 0, time.UTC))}, nil)},
		"daily": {mustEvent(t, 109, event.KindDaily, event.Daily{Day: "2026-11-23",
			Totals:      event.Counts{Total: 1710, Pass: 1702, Flag: 2, Retake: 5, Invalid: 1},
			ByLane:      map[string]event.Counts{"lane-1": {Total: 1710, Pass: 1702, Flag: 2, Retake: 5, Invalid: 1}},
			LaneLabels:  map[string]string{"lane-1": "1号通道"},
			ByRole:      map[string]event.Counts{"student": {Total: 1570, Pass: 1563, Flag: 2, Retake: 4, Invalid: 1}, "staff": {Total: 140, Pass: 139, Retake: 1}},
			ByGrade:     map[string]event.Counts{},
			ByRound:     map[string]event.Counts{"morning": {Total: 1710, Pass: 1702, Flag: 2, Retake: 5, Invalid: 1}},
			Cases:       map[string]int{"cleared": 1, "referred": 1},
			Disposition: map[string]int{"parent_fever_clinic": 1}, Absentees: 12,
			AbsenceReasons: map[string]int{"illness": 3, "personal_leave": 6, "unrecorded": 3},
			IllByGrade:     map[string]int{"7": 2, "8": 1}, IllSymptoms: map[string]int{"fever": 2, "cough": 1, "seen_doctor": 1},
			DeviceUptime: map[string]float64{"gate-1": 1, "ir-3": 0.97}, DeviceFaults: map[string]int{"ir-3": 1}}, nil)},
	}
}

// encodeGolden returns the payloads of the golden examples by name.
func encodeGolden(t testing.TB, u *Uplink) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, evs := range goldenEvents(t) {
		msgs := u.group(evs)
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages, want 1", name, len(msgs))
		}
		if want := u.Topic(strings.Split(name, "-")[0]); msgs[0].topic != want {
			t.Fatalf("%s: topic %s, want %s", name, msgs[0].topic, want)
		}
		if msgs[0].retained != (name == "daily") {
			t.Fatalf("%s: retained = %v", name, msgs[0].retained)
		}
		out[name] = msgs[0].payload
	}
	since := time.Date(2026, 11, 23, 6, 0, 1, 0, time.UTC)
	out["status-online"] = statusPayload("hd17-east", StateOnline, "7c0ffee0-1111-4222-8333-444455556666", "0.1.0", since, "")
	out["status-offline"] = statusPayload("hd17-east", StateOffline, "7c0ffee0-1111-4222-8333-444455556666", "0.1.0", time.Time{}, reasonConnectionLost)
	return out
}

func loadSchema(t testing.TB, topic string) *jsonSchema {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(schemaDir, topic+".schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSchema(b)
	if err != nil {
		t.Fatalf("schema %s: %v", topic, err)
	}
	return s
}

func TestGoldenPayloads(t *testing.T) {
	u := goldenUplink(t, IdentityPseudonym)
	for name, got := range encodeGolden(t, u) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(goldenDir, name+".json")
			if *update {
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, got, "", "  "); err != nil {
					t.Fatalf("encoder output is not JSON: %v\n%s", err, got)
				}
				pretty.WriteByte('\n')
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenPayloads -update)", err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, compact.Bytes()) {
				t.Fatalf("payload differs from %s\n got: %s\nwant: %s", path, got, compact.Bytes())
			}
			if err := loadSchema(t, strings.Split(name, "-")[0]).Validate(got); err != nil {
				t.Fatalf("payload does not validate: %v\n%s", err, got)
			}
		})
	}
}

func TestGoldenFacts(t *testing.T) {
	p := encodeGolden(t, goldenUplink(t, IdentityPseudonym))
	var readings struct {
		V      int              `json:"v"`
		Box    string           `json:"box"`
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(p["readings"], &readings); err != nil {
		t.Fatal(err)
	}
	if readings.V != 1 || readings.Box != "hd17-east" || len(readings.Events) != 5 {
		t.Fatalf("readings head: %+v", readings)
	}
	first := readings.Events[0]
	if first["id"] != "hd17-east:101" || first["person"] != Pseudonym(demoKey, "S2024-0137") {
		t.Fatalf("first event: %v", first)
	}
	if first["captured_at"] != "2026-11-23T07:12:05.250Z" {
		t.Fatalf("captured_at = %v", first["captured_at"])
	}
	early := readings.Events[2]
	// 600 s of monotonic time before the anchor at 07:00:00.
	if early["captured_at"] != "2026-11-23T06:50:00.000Z" || early["clock_synced"] != true || early["clock_corrected"] != true {
		t.Fatalf("corrected event: %v", early)
	}
	var calib map[string]any
	if err := json.Unmarshal(p["health-calibration"], &calib); err != nil {
		t.Fatal(err)
	}
	if calib["id"] != "hd17-east:108" || calib["calibration_id"] != 4.0 {
		t.Fatalf("calibration id clash not resolved: %v", calib)
	}
	for name, b := range p {
		if bytes.Contains(b, []byte("person_id")) || bytes.Contains(b, []byte("S2024-")) {
			t.Fatalf("%s leaks a roster id: %s", name, b)
		}
	}
}

func TestIdentityModes(t *testing.T) {
	ev := mustEvent(t, 7, event.KindReading, event.Reading{Lane: "l", Device: "d", Verdict: "pass", ThresholdC: 37.3,
		PersonID: "T-0042"}, nil)
	for _, tc := range []struct {
		identity string
		want     any
	}{
		{IdentityNone, nil},
		{IdentityID, "T-0042"},
		{IdentityPseudonym, Pseudonym(demoKey, "T-0042")},
	} {
		t.Run(tc.identity, func(t *testing.T) {
			u := goldenUplink(t, tc.identity)
			var obj map[string]any
			if err := json.Unmarshal(u.enc.single(nil, &ev), &obj); err != nil {
				t.Fatal(err)
			}
			if obj["person"] != tc.want {
				t.Fatalf("person = %v, want %v", obj["person"], tc.want)
			}
			if _, ok := obj["person_id"]; ok {
				t.Fatal("person_id left the box")
			}
		})
	}
	if Pseudonym(demoKey, "T-0042") == Pseudonym([]byte("other school"), "T-0042") {
		t.Fatal("pseudonym does not depend on the school key")
	}
	if _, err := New(&memOutbox{}, Opts{Broker: "tcp://x:1", District: "d", School: "s", Gate: "g", BoxID: "b"}); err == nil {
		t.Fatal("pseudonym identity without a key accepted")
	}
	if _, err := New(&memOutbox{}, Opts{Broker: "tcp://x:1", District: "d", School: "s/x", Gate: "g", BoxID: "b", Identity: IdentityNone}); err == nil {
		t.Fatal("school with '/' accepted")
	}
}

func TestMalformedBodyIsSentRaw(t *testing.T) {
	u := goldenUplink(t, IdentityNone)
	ev := mustEvent(t, 9, event.KindHealth, event.Health{Component: "storage", State: "ok"}, nil)
	ev.Body = []byte(`{"component":"storage",`)
	var obj map[string]any
	if err := json.Unmarshal(u.enc.single(nil, &ev), &obj); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if obj["body_raw"] != `{"component":"storage",` || obj["id"] != "hd17-east:9" {
		t.Fatalf("malformed body: %v", obj)
	}
	if u.Status().Malformed != 1 {
		t.Fatalf("Malformed = %d", u.Status().Malformed)
	}
}

func TestGroupingKeepsSeqOrderAndBatchSize(t *testing.T) {
	u := goldenUplink(t, IdentityNone)
	u.o.BatchSize = 3
	var evs []event.Event
	for seq := uint64(1); seq <= 8; seq++ {
		k := event.KindReading
		if seq == 5 {
			k = event.KindCase
		}
		evs = append(evs, mustEvent(t, seq, k, event.Health{}, nil))
	}
	msgs := u.group(evs)
	var got [][]uint64
	for _, m := range msgs {
		got = append(got, m.seqs)
	}
	want := [][]uint64{{1, 2, 3}, {4}, {5}, {6, 7, 8}}
	if len(got) != len(want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) || got[i][0] != want[i][0] {
			t.Fatalf("groups %v, want %v", got, want)
		}
	}
	if msgs[2].topic != u.Topic("cases") {
		t.Fatalf("case went to %s", msgs[2].topic)
	}
}

func TestDocsEmbedSchemas(t *testing.T) {
	doc, err := os.ReadFile("../../docs/mqtt.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"status", "readings", "cases", "health", "daily"} {
		b, err := os.ReadFile(filepath.Join(schemaDir, topic+".schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, bytes.TrimSpace(b)) {
			t.Errorf("docs/mqtt.md does not contain the current %s schema (testdata/mqtt/schema)", topic)
		}
	}
}

// A body cannot smuggle a roster id past the identity rule by escaping the
// key, nor overwrite envelope fields.
func TestBodyCannotEvadeIdentityOrEnvelope(t *testing.T) {
	u := goldenUplink(t, IdentityNone)
	ev := mustEvent(t, 11, event.KindReading, event.Reading{}, nil)
	ev.Body = []byte(`{"lane":"l","person\u005fid":"S-9","seq":999,"nested":{"id":"kept","person_id":"deep"}}`)
	out := u.enc.single(nil, &ev)
	var obj map[string]any
	if err := json.Unmarshal(out, &obj); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	if _, ok := obj["person_id"]; ok || obj["person"] != nil || bytes.Contains(out, []byte("S-9")) {
		t.Fatalf("escaped person_id leaked: %s", out)
	}
	if obj["seq"] != 11.0 || obj["reading_seq"] != 999.0 {
		t.Fatalf("envelope seq overwritten or body seq lost: %s", out)
	}
	if obj["nested"].(map[string]any)["id"] != "kept" {
		t.Fatalf("nested member changed: %s", out)
	}
}

func TestSchemaRejectsLeaks(t *testing.T) {
	s := loadSchema(t, "cases")
	good := encodeGolden(t, goldenUplink(t, IdentityPseudonym))["cases"]
	if err := s.Validate(good); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"person_id": strings.Replace(string(good), `"person":`, `"person_id":`, 1),
		"name":      strings.Replace(string(good), `"actor":`, `"name":"张三","actor":`, 1),
		"no id":     strings.Replace(string(good), `"id":"hd17-east:106",`, ``, 1),
		"bad state": strings.Replace(string(good), `"state":"referred"`, `"state":"gone"`, 1),
	} {
		if bad == string(good) {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if err := s.Validate([]byte(bad)); err == nil {
			t.Errorf("%s: schema accepted %s", name, bad)
		}
	}
}

// The splice path and the member-by-member rewrite agree on every body
// shape, wherever person_id sits.
func TestSpliceMatchesRewrite(t *testing.T) {
	for _, identity := range []string{IdentityNone, IdentityID, IdentityPseudonym} {
		u := goldenUplink(t, identity)
		for _, body := range []string{
			`{}`,
			`{"lane":"l"}`,
			`{"person_id":"A1"}`,
			`{"person_id":"A1","lane":"l"}`,
			`{"lane":"l","person_id":"A1"}`,
			`{"lane":"l","person_id":"A1","verdict":"pass"}`,
			`{ "lane" : "l" , "person_id" : "A1" , "x" : [1,{"person_id":"nested"}] }`,
			`{"lane":"l","person_id":"","x":1}`,
			`{"lane":"l","person_id":null}`,
			`{"lane":"l","person_id":"A\"1"}`,
			`{"note":"person_id","lane":"l"}`,
		} {
			ev := mustEvent(t, 5, event.KindReading, event.Reading{}, nil)
			ev.Body = []byte(body)
			got := u.enc.single(nil, &ev)
			want, err := u.enc.rewriteBody(nil, ev.Kind, ev.Seq, ev.Body)
			if err != nil {
				t.Fatalf("%s: rewrite: %v", body, err)
			}
			var g, w map[string]any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("%s (%s): output not JSON: %v: %s", body, identity, err, got)
			}
			if err := json.Unmarshal(append(append([]byte(`{"x0":0`), want...), '}'), &w); err != nil {
				t.Fatal(err)
			}
			delete(w, "x0")
			for k := range g {
				if _, envelope := map[string]bool{"v": true, "box": true, "id": true, "seq": true, "kind": true,
					"captured_at": true, "clock_synced": true, "drill": true}[k]; envelope {
					delete(g, k)
				}
			}
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if !bytes.Equal(gb, wb) {
				t.Errorf("%s (%s):\nsplice  %s\nrewrite %s", body, identity, gb, wb)
			}
		}
	}
}

// A calibration record is stored before the store draws its sequence, so
// its body says id 0; the record is known by that sequence everywhere else
// (the CLI, readings' calibration_id, storage.Calibrations), and the upload
// says the same. It said calibration_id 0, which the schema forbids.
func TestCalibrationIDIsItsSeq(t *testing.T) {
	u := goldenUplink(t, IdentityNone)
	ev := mustEvent(t, 303, event.KindCalibration, event.Calibration{Device: "lane1-ir", ReferenceC: 37,
		Samples: []float64{36.1, 36.2, 36.3, 36.2, 36.2}, MeanC: 36.2, SpreadC: 0.2, OffsetC: 0.8, At: 1}, nil)
	b := u.enc.single(nil, &ev)
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	if obj["calibration_id"] != 303.0 || obj["id"] != "hd17-east:303" {
		t.Fatalf("calibration_id %v, want 303: %s", obj["calibration_id"], b)
	}
	s := loadSchema(t, "health")
	if err := s.Validate(b); err != nil {
		t.Fatalf("schema: %v: %s", err, b)
	}
}

// A box upgraded with a backlog stored its cases' and calibrations' times
// as Unix nanoseconds; they go out in the wire's one time format, and
// validate.
func TestLegacyTimesSentAsRFC3339(t *testing.T) {
	u := goldenUplink(t, IdentityPseudonym)
	legacy := []struct {
		kind  event.Kind
		topic string
		body  string
		want  string
	}{
		{event.KindCase, "cases", `{"ticket":"R-001","day":"2026-11-23","lane":"lane-1","state":"awaiting_recheck","flag_c":38.2,"actor":"system","opened_at":1795417925123000000}`,
			`"opened_at":"2026-11-23T07:12:05.123Z"`},
		{event.KindCalibration, "health", `{"id":7,"device":"ir-1","reference_c":37,"samples":[36.2,36.2,36.2],"mean_c":36.2,"spread_c":0,"offset_c":0.8,"at":1795414800000000000}`,
			`"at":"2026-11-23T06:20:00.000Z"`},
	}
	for _, l := range legacy {
		ev := mustEvent(t, 900, l.kind, nil, func(e *event.Event) { e.Body = []byte(l.body) })
		got := u.enc.single(nil, &ev)
		if !strings.Contains(string(got), l.want) {
			t.Errorf("%v: %s lacks %s", l.kind, got, l.want)
		}
		if err := loadSchema(t, l.topic).Validate(got); err != nil {
			t.Errorf("%v: %v\n%s", l.kind, err, got)
		}
	}
}

// The schema refuses what the box must never send.
func TestSchemaRefusesWhatTheBoxNeverSends(t *testing.T) {
	pass := `{"v":1,"box":"hd17-east","events":[{"id":"hd17-east:1","seq":1,"kind":"reading","captured_at":"2026-11-23T07:12:05.250Z","clock_synced":true,"drill":false,"lane":"lane-1","role":"student","device":"g","raw_c":36.5,"ambient_c":22,"body_c":36.5,"verdict":"pass","mode":"body","threshold_c":37.3%s}]}`
	s := loadSchema(t, "readings")
	if err := s.Validate([]byte(fmt.Sprintf(pass, ""))); err != nil {
		t.Fatalf("a plain pass does not validate: %v", err)
	}
	for name, extra := range map[string]string{
		"calibration_id 0": `,"calibration_id":0`,
		"unknown reason":   `,"reason":"felt_warm"`,
		"unknown mode":     `,"mode":"forehead"`,
	} {
		if err := s.Validate([]byte(fmt.Sprintf(pass, extra))); err == nil {
			t.Errorf("%s validates", name)
		}
	}
	cases := loadSchema(t, "cases")
	nsCase := `{"v":1,"box":"hd17-east","id":"hd17-east:2","seq":2,"kind":"case","captured_at":"2026-11-23T07:12:05.250Z","clock_synced":true,"drill":false,"ticket":"R-1","day":"2026-11-23","lane":"l","state":"awaiting_recheck","actor":"system","opened_at":1795417925123000000}`
	if err := cases.Validate([]byte(nsCase)); err == nil {
		t.Error("a case with opened_at in Unix nanoseconds validates")
	}
}

// group turns events read from one queue into messages, as a drain does.
func (u *Uplink) group(evs []event.Event) []message {
	b := u.newBatcher()
	for i := range evs {
		if err := b.add(&evs[i]); err != nil {
			panic(err) // add never fails
		}
	}
	return b.finish()
}
