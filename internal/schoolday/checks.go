package schoolday

import (
	"fmt"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// checkCalibrations raises a calibration warning for every skin sensor
// whose record is older than Opts.MaxCalibrationAge or spread wider than
// Opts.MaxSpreadC; each change is reported once (it is stored and uploaded
// on health).
func (f *Office) checkCalibrations(now time.Time, sent map[string]string) {
	records, err := f.o.Store.Calibrations()
	if err != nil {
		f.o.Logger.Error().Err(err).Msg("reading calibrations")
		return
	}
	for _, d := range f.o.Devices {
		rec, ok := records[d.Name]
		if d.Mode != pipeline.ModeSkin || !ok {
			continue
		}
		reason := ""
		switch age := now.Sub(rec.At.Time()); {
		case plausible(now) && age > f.o.MaxCalibrationAge:
			reason = fmt.Sprintf("overdue: calibrated %s, %d days ago", rec.At.Time().In(f.o.Schedule.Location()).Format(time.DateOnly), int(age.Hours()/24))
		case rec.SpreadC > f.o.MaxSpreadC:
			reason = fmt.Sprintf("spread %.2f °C wider than %.2f °C", rec.SpreadC, f.o.MaxSpreadC)
		}
		if reason == sent[d.Name] {
			continue
		}
		sent[d.Name] = reason
		state := event.HealthWarning
		if reason == "" {
			state, reason = event.HealthOK, "calibrated"
		}
		f.o.OnHealth(event.Health{Component: "calibration", Device: d.Name, State: state, Reason: reason})
	}
}
