package schoolday

import (
	"fmt"
	"math"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/screen"
)

// drillBanner is how long the screen says a drill is running.
const drillBanner = 3 * time.Minute

// Drill passes a simulated person at tempC through the real flow on lane;
// every event it causes is marked drill. It serves the screen's drill
// button and `gatescreen drill` (screen.Driller).
func (f *Office) Drill(lane string, tempC float64) error {
	if tempC < 30 || tempC > 45 {
		return fmt.Errorf("drill: %.1f °C is not a body temperature (30–45 °C)", tempC)
	}
	for i, l := range f.o.Lanes {
		if l.Name != lane {
			continue
		}
		if l.Role == event.RoleRecheck {
			return fmt.Errorf("drill: lane %q is a re-check lane: a drill there would resolve a real case", lane)
		}
		dev := f.o.Devices[l.Device]
		rd := drivers.NewTemperature(tempC, math.NaN(), drivers.FlagNoAmbient)
		if dev.Mode == pipeline.ModeSkin { // the sensor would read skin
			rd.ObjectC = tempC - dev.OffsetC
		}
		rd.Mono, rd.Wall = f.o.Clock.Stamp()
		if err := f.o.Pipeline.Inject(i, rd, true); err != nil {
			return fmt.Errorf("drill on %s: %w", lane, err)
		}
		f.o.Logger.Warn().Str("lane", lane).Float64("temp_c", tempC).Msg("drill started")
		if scr := f.o.Screen; scr != nil {
			scr.SetBanner(screen.Banner{ID: "drill", Level: "info", Text: "banner_drill", Arg: lane})
			time.AfterFunc(drillBanner, func() { scr.ClearBanner("drill") })
		}
		return nil
	}
	return fmt.Errorf("drill: no lane %q", lane)
}

var _ screen.Driller = (*Office)(nil)
