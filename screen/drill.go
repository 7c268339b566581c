package screen

import (
	"fmt"
	"net/http"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// Driller starts an emergency drill (应急演练): a simulated person at tempC
// passes through the real flow on the lane, and every event it causes is
// marked drill. The daemon implements it as its local API's drill does.
type Driller interface {
	Drill(lane string, tempC float64) error
}

// drillTempC is a drill's default temperature: a clear flag.
const drillTempC = 38.2

type drillRequest struct {
	Lane  string   `json:"lane"`
	TempC *float64 `json:"temp_c"`
}

type drillStarted struct {
	Lane  string  `json:"lane"`
	TempC float64 `json:"temp_c"`
}

// drillLanes are the lanes a drill may run on: every configured lane but
// the re-check lanes, whose reading would resolve a real case.
func (s *Screen) drillLanes() []pipeline.Lane {
	var out []pipeline.Lane
	for _, l := range s.o.Lanes {
		if l.Role != event.RoleRecheck {
			if l.Label == "" {
				l.Label = l.Name
			}
			out = append(out, l)
		}
	}
	return out
}

func (s *Screen) serveDrill(w http.ResponseWriter, r *http.Request, _ string) {
	if s.o.Driller == nil {
		writeError(w, http.StatusForbidden, "drill_disabled")
		return
	}
	log := s.log.With().Str("actor", s.o.Actor).Str("action", "drill").Logger()
	var req drillRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.validateDrill(&req); err != nil {
		log.Warn().Err(err).Str("lane", req.Lane).Msg("drill refused")
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.o.Driller.Drill(req.Lane, *req.TempC); err != nil {
		log.Error().Err(err).Str("lane", req.Lane).Msg("drill failed")
		writeError(w, http.StatusServiceUnavailable, "drill_failed: "+err.Error())
		return
	}
	log.Warn().Str("lane", req.Lane).Float64("temp_c", *req.TempC).Msg("drill started from the screen")
	writeJSON(w, http.StatusOK, drillStarted{Lane: req.Lane, TempC: *req.TempC})
}

func (s *Screen) validateDrill(req *drillRequest) error {
	if req.TempC == nil {
		t := drillTempC
		req.TempC = &t
	}
	if !(*req.TempC >= 30 && *req.TempC <= 45) {
		return fmt.Errorf("%w: temp_c must be 30.0–45.0", errBadInput)
	}
	rounded := roundTenth(*req.TempC)
	req.TempC = &rounded
	for _, l := range s.o.Lanes {
		if l.Name != req.Lane {
			continue
		}
		if l.Role == event.RoleRecheck {
			return fmt.Errorf("%w: lane %q is a re-check lane: a drill there would resolve a real case", errBadInput, req.Lane)
		}
		return nil
	}
	return fmt.Errorf("%w: lane %q: no such lane", errBadInput, req.Lane)
}
