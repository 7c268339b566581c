package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// A skin sensor calibrated longer ago than calibration.max_age, or with a
// wide spread, raises one warning per change, and a fresh calibration
// clears it.
func TestCalibrationWarnings(t *testing.T) {
	g := reportGate(t)
	var got []event.Health
	g.hub = &healthHub{log: zerolog.Nop()}
	g.hub.attach(func(h event.Health) { got = append(got, h) })
	g.devices = []pipeline.DeviceInfo{{Name: "ir1", Mode: pipeline.ModeSkin}, {Name: "gate", Mode: pipeline.ModeBody}}
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
	store(event.Calibration{Device: "ir1", SpreadC: 0.1, At: now.AddDate(0, 0, -20).UnixNano()})
	store(event.Calibration{Device: "gate", SpreadC: 0.1, At: now.AddDate(0, 0, -20).UnixNano()})

	sent := map[string]string{}
	g.checkCalibrations(now, sent)
	g.checkCalibrations(now, sent) // unchanged: not reported again
	if len(got) != 1 || got[0].Device != "ir1" || got[0].State != event.HealthWarning || got[0].Reason[:7] != "overdue" {
		t.Fatalf("after an old calibration: %+v", got)
	}
	store(event.Calibration{Device: "ir1", SpreadC: 0.6, At: now.UnixNano()})
	g.checkCalibrations(now, sent)
	if len(got) != 2 || got[1].Reason[:6] != "spread" {
		t.Fatalf("after a loose calibration: %+v", got)
	}
	store(event.Calibration{Device: "ir1", SpreadC: 0.1, At: now.UnixNano()})
	g.checkCalibrations(now, sent)
	if len(got) != 3 || got[2].State != event.HealthOK {
		t.Fatalf("after a good calibration: %+v", got)
	}
}
