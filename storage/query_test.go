package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the ledger test needs Asia/Shanghai on any machine

	"github.com/gatescreen/gatescreen/event"
)

func TestCasesProjection(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{})
	day := "2026-11-23"
	appendAll := func(evs ...event.Event) {
		t.Helper()
		for _, ev := range evs {
			if err := s.Append(ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	appendAll(
		mustEvent(t, event.KindCase, event.Case{Ticket: "R-001", Day: day, Lane: "L1", State: event.CaseAwaitingRecheck, FlagC: ptr(37.9), Actor: "lane:L1"}, t0),
		mustEvent(t, event.KindCase, event.Case{Ticket: "R-002", Day: day, Lane: "L2", State: event.CaseAwaitingRecheck, FlagC: ptr(37.5), Actor: "lane:L2"}, t0),
		mustEvent(t, event.KindCase, event.Case{Ticket: "R-001", Day: "2026-11-22", Lane: "L3", State: event.CaseAwaitingRecheck, Actor: "lane:L3"}, t0),
		// A transition carrying only what changed keeps lane and flag_c.
		mustEvent(t, event.KindCase, event.Case{Ticket: "R-001", Day: day, From: event.CaseAwaitingRecheck, State: event.CaseCleared, RecheckC: ptr(36.8), Actor: "doctor"}, t0),
		mustEvent(t, event.KindCase, event.Case{Ticket: "R-002", Day: day, From: event.CaseAwaitingRecheck, State: event.CaseConfirmed, RecheckC: ptr(38.1), Actor: "doctor"}, t0),
		mustEvent(t, event.KindDaily, event.Daily{Day: day, Zero: true}, t0),
		mustEvent(t, event.KindDaily, event.Daily{Day: day, Totals: event.Counts{Total: 3, Flag: 2, Pass: 1}}, t0),
		mustEvent(t, event.KindCalibration, event.Calibration{ID: 1, Device: "gun-1", OffsetC: 0.2}, t0),
		mustEvent(t, event.KindCalibration, event.Calibration{ID: 2, Device: "gun-1", OffsetC: 0.3}, t0),
		// Without an ID of its own, a record is known by its seq.
		mustEvent(t, event.KindCalibration, event.Calibration{Device: "gate-1", OffsetC: -0.1}, t0),
	)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})

	cases, err := s.CasesOn(day)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 {
		t.Fatalf("CasesOn(%s) = %+v, want 2 cases", day, cases)
	}
	c1, c2 := cases[0], cases[1]
	if c1.Ticket != "R-001" || c1.State != event.CaseCleared || c1.Lane != "L1" || c1.FlagC == nil || *c1.FlagC != 37.9 ||
		c1.RecheckC == nil || *c1.RecheckC != 36.8 || c1.Actor != "doctor" {
		t.Errorf("R-001 latest = %+v", c1)
	}
	if c2.Ticket != "R-002" || c2.State != event.CaseConfirmed || c2.Lane != "L2" {
		t.Errorf("R-002 latest = %+v", c2)
	}
	open, err := s.OpenCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 || open[0].Day != "2026-11-22" || open[1].Ticket != "R-002" {
		t.Errorf("OpenCases = %+v, want yesterday's R-001 and today's R-002", open)
	}
	d, ok, err := s.Daily(day)
	if err != nil || !ok || d.Zero || d.Totals.Total != 3 {
		t.Errorf("Daily = %+v, %v, %v; want the later report", d, ok, err)
	}
	if _, ok, err := s.Daily("2026-11-01"); ok || err != nil {
		t.Errorf("Daily of a day without report = %v, %v", ok, err)
	}
	cals, err := s.Calibrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(cals) != 2 || cals["gun-1"].ID != 2 || cals["gate-1"].OffsetC != -0.1 || cals["gate-1"].ID == 0 || cals["gate-1"].ID == cals["gun-1"].ID {
		t.Errorf("Calibrations = %+v", cals)
	}
}

func TestScanAndExport(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{})
	flag := flagReading(t, "L2", "R-001", t0.Add(time.Minute), 43)
	evs := []event.Event{
		reading(t, "L1", event.VerdictPass, t0.Add(-time.Hour)), // before the range
		reading(t, "L1", event.VerdictPass, t0),
		flag,
		openedBy(t, flag, event.Case{Ticket: "R-001", Day: "2026-11-23", Lane: "L2", State: event.CaseAwaitingRecheck,
			FlagC: ptr(37.9), Actor: "lane:L2", Outcome: "已通知家长"}),
		mustEvent(t, event.KindHealth, event.Health{Component: "device", State: event.HealthUp}, t0.Add(time.Minute)),
		reading(t, "L1", event.VerdictPass, t0.Add(2*time.Hour)), // at the end: excluded
	}
	for _, ev := range evs {
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	from, to := t0, t0.Add(2*time.Hour)
	var scanned []uint64
	if err := s.Scan(from, to, func(ev event.Event) error { scanned = append(scanned, ev.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !equal(scanned, []uint64{2, 3, 4, 5}) {
		t.Errorf("Scan = %v, want [2 3 4 5]", scanned)
	}
	scanned = nil
	if err := s.ScanAfter(3, from, to, func(ev event.Event) error { scanned = append(scanned, ev.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !equal(scanned, []uint64{4, 5}) {
		t.Errorf("ScanAfter(3) = %v, want [4 5]", scanned)
	}

	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ExportJSONL(&buf, s, from, to, shanghai); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var lines []ledgerLine
	for sc.Scan() {
		var l ledgerLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 3 || lines[0].Seq != 2 || lines[2].Kind != "case" || !strings.HasPrefix(lines[0].Time, "2026-11-23T15:00:00+08:00") {
		t.Errorf("JSONL = %+v", lines)
	}
	if c := decodeBody[event.Case](t, event.Event{Body: lines[2].Body}); c.Outcome != "已通知家长" {
		t.Errorf("JSONL case body = %+v", c)
	}
}
