package daemon

import (
	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/pipeline"
)

// This file is the one place the configuration becomes the components'
// options; no component imports the config package. Where a component's
// option type is the file's shape (drivers.Device, pipeline.Relative and
// Segment, lamps.Pins, school.Window and Round) the configuration decodes
// into it and nothing is translated.

// describe turns the configuration into the one description of the
// devices and lanes that the pipeline, the cases and the sinks share.
// Lanes refer to their devices by index; the configuration is validated,
// so every name it refers to is there.
func describe(cfg *config.Config) ([]pipeline.DeviceInfo, []pipeline.Lane, error) {
	index := make(map[string]int, len(cfg.Devices))
	devs := make([]pipeline.DeviceInfo, len(cfg.Devices))
	for i, d := range cfg.Devices {
		index[d.Name] = i
		drv, _ := drivers.Lookup(d.Driver)
		info, err := pipeline.DeviceOf(d, drv.Continuous)
		if err != nil {
			return nil, nil, err
		}
		devs[i] = info
	}
	lanes := make([]pipeline.Lane, len(cfg.Lanes))
	for i, l := range cfg.Lanes {
		badge := -1
		if l.Badge != "" {
			badge = index[l.Badge]
		}
		lanes[i] = pipeline.Lane{Name: l.Name, Label: l.Label, Role: l.Role, Device: index[l.Device], Badge: badge}
	}
	return devs, lanes, nil
}

// screeningParams are the pipeline's parameters from the screening
// section; they reload on SIGHUP.
func screeningParams(s config.Screening) pipeline.Params {
	return pipeline.Params{
		ThresholdC:  s.ThresholdC,
		FloorC:      s.FloorC,
		AmbientMinC: s.AmbientMinC,
		AmbientMaxC: s.AmbientMaxC,
		Relative:    s.Relative,
		Segment:     s.Segment,
		BadgeWindow: s.BadgeWindow,
	}
}
