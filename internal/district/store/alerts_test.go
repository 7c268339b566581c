package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func caseEvent(box string, seq int64, ticket, state, disposition string, drill bool) Event {
	body := fmt.Sprintf(`{"id":"%s:%d","seq":%d,"kind":"case","ticket":%q,"day":"2026-11-23","lane":"lane-2","state":%q,"recheck_c":37.9,"drill":%t`,
		box, seq, seq, ticket, state, drill)
	if disposition != "" {
		body += fmt.Sprintf(`,"disposition":%q`, disposition)
	}
	return Event{ID: fmt.Sprintf("%s:%d", box, seq), Seq: seq, Kind: "case", CapturedAt: "2026-11-23T07:30:00.000Z",
		ClockSynced: true, Drill: drill, Body: []byte(body + "}")}
}

func casesMessage(evs ...Event) Message {
	m := readings(east, "hd17-east", evs...)
	m.Topic = "gatescreen/v1/hd/hd17/east/cases"
	return m
}

func testCaseAlerts(t *testing.T, open opener) {
	s, _ := open(t)
	b := &Batch{Messages: []Message{casesMessage(
		caseEvent("hd17-east", 1, "R-1", "awaiting_recheck", "", false),
		caseEvent("hd17-east", 2, "R-1", "confirmed", "", false),
		caseEvent("hd17-east", 3, "R-1", "referred", "cdc_transfer", false),
		caseEvent("hd17-east", 4, "R-2", "confirmed", "", true), // a drill: counted apart, no alert
		caseEvent("hd17-east", 5, "R-3", "referred", "parent_fever_clinic", false),
		caseEvent("hd17-east", 6, "R-1", "confirmed", "", false), // the same cause under a new seq
	)}}
	write(t, s, b)
	write(t, s, b) // redelivered
	alerts, err := s.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alerts {
		got = append(got, a.Kind+" "+a.Key)
	}
	want := "case_confirmed case_confirmed:hd17-east:2026-11-23:R-1, case_cdc_transfer case_cdc_transfer:hd17-east:2026-11-23:R-1"
	if strings.Join(got, ", ") != want {
		t.Fatalf("alerts %q, want %q", got, want)
	}
	a := alerts[0]
	var data map[string]any
	if err := json.Unmarshal([]byte(a.Data), &data); err != nil || data["ticket"] != "R-1" || data["state"] != "confirmed" {
		t.Errorf("data %s: %v", a.Data, err)
	}
	if a.District != "hd" || a.Gate != "east" || a.School != "hd17" || a.At != "2026-11-23T07:12:05.000Z" || !strings.Contains(a.Detail, "37.90") {
		t.Errorf("alert %+v", a)
	}
	cases, err := s.CaseEvents(context.Background(), "2026-11-23T00:00:00.000Z")
	if err != nil || len(cases) != 6 {
		t.Errorf("case events %d, %v; want 6", len(cases), err)
	}
	if cases, _ := s.CaseEvents(context.Background(), "2026-11-24T00:00:00.000Z"); len(cases) != 0 {
		t.Errorf("case events since the next day: %d", len(cases))
	}
}

func testAlertDelivery(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	for i, key := range []string{"a", "b", "a"} {
		raised, err := s.RaiseAlert(ctx, NewAlert{Kind: AlertDailyMissing, School: "hd17", Box: "hd17-east", Detail: "no report",
			Data: []byte(`{"day":"2026-11-23"}`), At: t0, Key: key})
		if err != nil || raised != (i < 2) {
			t.Fatalf("raising %s: %v, %v", key, raised, err)
		}
	}
	pending, err := s.PendingAlerts(ctx, t0, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending %+v, %v", pending, err)
	}
	if err := s.AlertFailed(ctx, pending[0].ID, t0.Add(time.Minute), "503"); err != nil {
		t.Fatal(err)
	}
	if err := s.AlertDelivered(ctx, pending[1].ID, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PendingAlerts(ctx, t0.Add(59*time.Second), 10); len(got) != 0 {
		t.Errorf("pending before the retry is due: %+v", got)
	}
	got, _ := s.PendingAlerts(ctx, t0.Add(time.Minute), 10)
	if len(got) != 1 || got[0].ID != pending[0].ID || got[0].Attempts != 1 || got[0].LastError != "503" || got[0].Data != `{"day":"2026-11-23"}` {
		t.Errorf("pending when due %+v", got)
	}
	all, _ := s.Alerts(ctx)
	if all[1].DeliveredAt != "2026-11-23T07:12:05.000Z" || all[1].Attempts != 1 {
		t.Errorf("delivered %+v", all[1])
	}
	if err := s.AlertDelivered(ctx, 999, t0); err == nil {
		t.Error("marking an unknown alert delivered succeeded")
	}
}
