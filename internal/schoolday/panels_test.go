package schoolday

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/screen"
)

// A skin sensor calibrated longer ago than calibration.max_age, or with a
// wide spread, raises one warning per change, and a fresh calibration
// clears it.
func TestCalibrationWarnings(t *testing.T) {
	g := reportOffice(t)
	var got []event.Health
	g.o.OnHealth = func(h event.Health) { got = append(got, h) }
	g.o.Devices = []pipeline.DeviceInfo{{Name: "ir1", Mode: pipeline.ModeSkin}, {Name: "gate", Mode: pipeline.ModeBody}}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, g.loc)
	store := func(rec event.Calibration) {
		ev, err := event.New(event.KindCalibration, rec)
		if err != nil {
			t.Fatal(err)
		}
		ev.Urgent = true
		if _, err := g.store.AppendWait(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	store(event.Calibration{Device: "ir1", SpreadC: 0.1, At: event.TimeOf(now.AddDate(0, 0, -20))})
	store(event.Calibration{Device: "gate", SpreadC: 0.1, At: event.TimeOf(now.AddDate(0, 0, -20))})

	sent := map[string]string{}
	g.checkCalibrations(now, sent)
	g.checkCalibrations(now, sent) // unchanged: not reported again
	if len(got) != 1 || got[0].Device != "ir1" || got[0].State != event.HealthWarning || got[0].Reason[:7] != "overdue" {
		t.Fatalf("after an old calibration: %+v", got)
	}
	store(event.Calibration{Device: "ir1", SpreadC: 0.6, At: event.TimeOf(now)})
	g.checkCalibrations(now, sent)
	if len(got) != 2 || got[1].Reason[:6] != "spread" {
		t.Fatalf("after a loose calibration: %+v", got)
	}
	store(event.Calibration{Device: "ir1", SpreadC: 0.1, At: event.TimeOf(now)})
	g.checkCalibrations(now, sent)
	if len(got) != 3 || got[2].State != event.HealthOK {
		t.Fatalf("after a good calibration: %+v", got)
	}
}

// Today's panels are tallied incrementally: each refresh reads only the
// events stored since the last one, and a report handed to the screen is
// not changed by later counting.
func TestRunningTallyReadsEachEventOnce(t *testing.T) {
	g := reportOffice(t)
	scr, err := screen.New(screen.Opts{Lanes: []pipeline.Lane{{Name: "L1", Role: "student", Badge: -1}},
		Devices: []pipeline.DeviceInfo{{Name: "ir1"}}})
	if err != nil {
		t.Fatal(err)
	}
	g.o.Screen = scr
	now := time.Now()
	add := func(verdict string) {
		ev, err := event.New(event.KindReading, event.Reading{Lane: "L1", Role: "student", Verdict: verdict})
		if err != nil {
			t.Fatal(err)
		}
		ev.Wall = now.UnixNano()
		if _, err := g.store.AppendWait(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	var rt runningTally
	add(event.VerdictPass)
	add(event.VerdictFlag)
	if err := g.refreshPanels(now, &rt); err != nil {
		t.Fatal(err)
	}
	first := rt.t.Report(now)
	if first.Totals.Total != 2 || rt.last != 2 {
		t.Fatalf("first refresh: total %d, last seq %d", first.Totals.Total, rt.last)
	}
	add(event.VerdictPass)
	if err := g.refreshPanels(now, &rt); err != nil {
		t.Fatal(err)
	}
	if r := rt.t.Report(now); r.Totals.Total != 3 || r.ByLane["L1"].Pass != 2 || rt.last != 3 {
		t.Fatalf("second refresh: %+v, last seq %d", r.Totals, rt.last)
	}
	if first.ByLane["L1"].Total != 2 {
		t.Fatalf("an earlier report changed under the screen: %+v", first.ByLane)
	}
	// An event of another day (a night's health event, say) is not counted,
	// but the next refresh starts after it: a day with nothing stored does
	// not rescan the store every minute.
	yesterday := now.Add(-48 * time.Hour)
	ev, err := event.New(event.KindReading, event.Reading{Lane: "L1", Role: "student", Verdict: event.VerdictPass})
	if err != nil {
		t.Fatal(err)
	}
	ev.Wall = yesterday.UnixNano()
	if _, err := g.store.AppendWait(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if err := g.refreshPanels(now, &rt); err != nil {
		t.Fatal(err)
	}
	if r := rt.t.Report(now); r.Totals.Total != 3 || rt.last != 4 {
		t.Fatalf("after another day's event: total %d, last seq %d, want 3 and 4", r.Totals.Total, rt.last)
	}
}

// A drill on a re-check lane would resolve a real case: refused for every
// caller (the screen, the local API, `gatescreen drill`), before anything
// is injected.
func TestDrillRefusesRecheckLane(t *testing.T) {
	g := reportOffice(t)
	g.o.Lanes = []pipeline.Lane{
		{Name: "lane-1", Role: event.RoleStudent},
		{Name: "recheck", Role: event.RoleRecheck, Device: 1},
	}
	err := g.Drill("recheck", 38.2)
	if err == nil || !strings.Contains(err.Error(), "re-check lane") {
		t.Fatalf("drill on a re-check lane: %v", err)
	}
	if err := g.Drill("nowhere", 38.2); err == nil || !strings.Contains(err.Error(), "no lane") {
		t.Fatalf("drill on an unknown lane: %v", err)
	}
}
