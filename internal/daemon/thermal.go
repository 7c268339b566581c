package daemon

import (
	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/drivers/thermal"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/screen"
)

// thermalThumbs holds, by device index, the frames the thermal arrays'
// readings were measured from, for the screen's thumbnails. The frames
// reach the screen only: the readings that go on to the store and the
// uplink never carry them.
type thermalThumbs map[uint16]*thermal.Thumbs

// newThermalThumbs returns a holder for every thermal array of cfg, or nil
// when it has none.
func newThermalThumbs(cfg *config.Config) thermalThumbs {
	var t thermalThumbs
	for i, d := range cfg.Devices {
		if thermal.IsArray(d.Driver) {
			if t == nil {
				t = thermalThumbs{}
			}
			t[uint16(i)] = new(thermal.Thumbs)
		}
	}
	return t
}

// ThermalImage implements screen.ThermalImages.
func (t thermalThumbs) ThermalImage(device uint16, mono int64) (screen.ThermalImage, bool) {
	h, ok := t[device]
	if !ok {
		return screen.ThermalImage{}, false
	}
	th, ok := h.Get(mono)
	return screen.ThermalImage{W: th.W, H: th.H, C: th.C}, ok
}

// keepThumbs makes device i's thermal Source hand its measured frames to
// its holder, which files each under the reading's stamp (after the
// runner's stamping, before the pipeline).
func (t thermalThumbs) keepThumbs(i int, ro *runner.Opts) {
	h, ok := t[uint16(i)]
	if !ok {
		return
	}
	ro.Emit = h.Emit(ro.Emit)
	newSource := ro.Driver.New
	ro.Driver.New = func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
		src, err := newSource(d, c)
		if s, ok := src.(*thermal.Source); ok {
			s.KeepThumbs(h)
		}
		return src, err
	}
}

var _ screen.ThermalImages = thermalThumbs(nil)
