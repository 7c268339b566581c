package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

const golden = "../../../testdata/mqtt"

var at = time.Date(2026, 11, 23, 7, 12, 6, 0, time.UTC)

func goldenPayload(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(golden, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newDecoder(t *testing.T, max int) *Decoder {
	t.Helper()
	d, err := NewDecoder("hd", max)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecodeGolden(t *testing.T) {
	d := newDecoder(t, 0)
	prefix := "gatescreen/v1/hd/hd17/east/"
	m, q := d.Decode(prefix+"readings", goldenPayload(t, "readings.json"), at)
	if q != nil {
		t.Fatalf("readings quarantined: %+v", q)
	}
	if m.Box != "hd17-east" || m.Site != (store.Site{District: "hd", School: "hd17", Gate: "east"}) || len(m.Events) != 5 {
		t.Fatalf("readings: box %s site %v, %d events", m.Box, m.Site, len(m.Events))
	}
	if e := m.Events[4]; e.ID != "hd17-east:105" || e.Kind != "gap" || e.Seq != 105 || !e.ClockSynced {
		t.Errorf("gap %+v", e)
	}
	if body := string(m.Events[0].Body); !strings.HasPrefix(body, `{"ambient_c":22.5,`) || strings.Contains(body, `"box"`) {
		t.Errorf("canonical body %s: want sorted keys, numbers as sent", body)
	}

	m, q = d.Decode(prefix+"daily", goldenPayload(t, "daily.json"), at)
	if q != nil || m.Daily == nil || m.Daily.Day != "2026-11-23" || m.Daily.Totals.Total != 1710 || m.Daily.Totals.Flag != 2 || len(m.Events) != 1 {
		t.Fatalf("daily %+v, %+v", m, q)
	}
	if bytes.Contains(m.Events[0].Body, []byte(`"v":`)) {
		t.Errorf("a single-event payload's body keeps v: %s", m.Events[0].Body)
	}
	m, q = d.Decode(prefix+"status", goldenPayload(t, "status-offline.json"), at)
	if q != nil || m.Status == nil || m.Status.State != "offline" || m.Status.Reason != "connection_lost" || m.Status.Since != "" || len(m.Events) != 0 {
		t.Fatalf("status %+v, %+v", m, q)
	}
	for file, topic := range map[string]string{"cases.json": "cases", "health.json": "health", "health-calibration.json": "health", "status-online.json": "status"} {
		if _, q := d.Decode(prefix+topic, goldenPayload(t, file), at); q != nil {
			t.Errorf("%s quarantined: %+v", file, q)
		}
	}
}

// A box's resend of the same event, whatever its key order or spacing, has
// the same canonical body.
func TestCanonicalIgnoresLayout(t *testing.T) {
	a, err := canonical([]byte(`{"seq":1, "id":"b:1","x":[1.50, "<&>"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := canonical([]byte(`{"id":"b:1","x":[1.50,"<&>"],"seq":1}`))
	if !bytes.Equal(a, b) || string(a) != `{"id":"b:1","seq":1,"x":[1.50,"<&>"]}` {
		t.Errorf("%s vs %s", a, b)
	}
}

func TestDecodeQuarantines(t *testing.T) {
	d := newDecoder(t, 4<<10)
	east := "gatescreen/v1/hd/hd17/east/"
	health := string(goldenPayload(t, "health.json"))
	for _, tc := range []struct {
		name, topic, payload, reason string
	}{
		{"malformed JSON", east + "health", `{"v":1,`, store.ReasonMalformed},
		{"schema violation", east + "health", strings.Replace(health, `"down"`, `"exploded"`, 1), store.ReasonSchema},
		{"unknown kind", east + "gossip", health, store.ReasonTopic},
		{"another district", "gatescreen/v1/xc/hd17/east/health", health, store.ReasonTopic},
		{"too few levels", "gatescreen/v1/hd/health", health, store.ReasonTopic},
		{"not the contract's tree", "other/v1/hd/hd17/east/health", health, store.ReasonTopic},
		{"id of another box", east + "health", strings.Replace(health, `"id": "hd17-east:107"`, `"id": "hd17-west:107"`, 1), store.ReasonBadID},
		{"id of another seq", east + "health", strings.Replace(health, `"id": "hd17-east:107"`, `"id": "hd17-east:7"`, 1), store.ReasonBadID},
		{"over the size limit", east + "health", health + strings.Repeat(" ", 5<<10), store.ReasonTooLarge},
	} {
		m, q := d.Decode(tc.topic, []byte(tc.payload), at)
		if q == nil {
			t.Errorf("%s: not quarantined: %+v", tc.name, m)
			continue
		}
		if q.Reason != tc.reason || q.Topic != tc.topic || q.Size != len(tc.payload) || q.Detail == "" || !q.ReceivedAt.Equal(at) {
			t.Errorf("%s: %s (%s), want %s", tc.name, q.Reason, q.Detail, tc.reason)
		}
	}
	if !strings.Contains(health, `"id": "hd17-east:107"`) {
		t.Fatal("the golden health payload changed layout: the cases above test nothing")
	}
}
