package daemon

import (
	"github.com/gatescreen/gatescreen/internal/config"
)

// reload applies a changed configuration file on SIGHUP: screening
// parameters and the roster. A bad file is rejected and the old one kept.
func (g *gate) reload() {
	log := g.log.With().Str("file", g.o.ConfigPath).Logger()
	if g.o.ConfigPath == "" {
		log.Warn().Msg("SIGHUP ignored: no configuration file to reload")
		return
	}
	cfg, err := config.Load(g.o.ConfigPath)
	if err != nil {
		log.Error().Err(err).Msg("reload rejected, keeping the configuration in force")
		return
	}
	g.pipe.Reload(screeningParams(cfg.Screening)) // compensation and calibration stay
	if err := g.office.Roster().Reload(); err != nil {
		log.Error().Err(err).Msg("roster not reloaded")
	}
	log.Info().Float64("threshold_c", cfg.Screening.ThresholdC).
		Msg("screening parameters reloaded; device, lane, storage and uplink changes need a restart")
}
