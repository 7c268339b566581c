package screen

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
)

// VisitorBook keeps the visitor book (来访登记) on the box; *storage.Store
// implements it. Visitors are personal data: never events, never uploaded.
type VisitorBook interface {
	PutVisitor(v storage.Visitor) (uint64, error)
	Visitors(day string) ([]storage.Visitor, error)
}

// Limits of the visitor form, in runes.
const (
	maxVisitorName    = 32
	maxVisitorPurpose = 100
)

var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 -]{4,19}$`)

// Refusals of a visitor registration: the page shows them by these i18n
// keys. The admitting reading is the newest one of any lane of role
// visitor, taken within Opts.VisitorWindow.
const (
	refuseNoVisitorLane = "visitor_no_lane"
	refuseNoReading     = "visitor_no_reading"
	refuseNotPass       = "visitor_not_pass"
	refuseDrillReading  = "visitor_drill_reading"
	refuseReadingUsed   = "visitor_reading_used"
)

type visitorRequest struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Purpose string `json:"purpose"`
	Host    string `json:"host"`
}

func (req *visitorRequest) validate() error {
	req.Name, req.Phone = strings.TrimSpace(req.Name), strings.TrimSpace(req.Phone)
	req.Purpose, req.Host = strings.TrimSpace(req.Purpose), strings.TrimSpace(req.Host)
	for _, f := range []struct {
		name, value string
		max         int
	}{{"name", req.Name, maxVisitorName}, {"purpose", req.Purpose, maxVisitorPurpose}, {"host", req.Host, maxVisitorName}} {
		if n := len([]rune(f.value)); n == 0 || n > f.max {
			return fmt.Errorf("%w: %s must be 1–%d characters", errBadInput, f.name, f.max)
		}
		if strings.IndexFunc(f.value, unicode.IsControl) >= 0 {
			return fmt.Errorf("%w: %s has a control character", errBadInput, f.name)
		}
	}
	if !phonePattern.MatchString(req.Phone) {
		return fmt.Errorf("%w: phone must be 5–20 digits (spaces, dashes and a leading + allowed)", errBadInput)
	}
	return nil
}

// visitorRefusal says why no reading admits a visitor, with the reading
// when there is one.
type visitorRefusal struct {
	Error   string   `json:"error"`
	Lane    string   `json:"lane,omitempty"`
	Verdict string   `json:"verdict,omitempty"`
	BodyC   *float64 `json:"body_c,omitempty"`
}

// admittingReading finds the reading a visitor is registered on and marks it
// used, so one pass admits one visitor. Call with s.mu held.
func (s *Screen) admittingReading(nowMs int64) (*lane, reading, *visitorRefusal) {
	var best *lane
	haveLane := false
	for _, l := range s.lanes {
		if l.role != event.RoleVisitor {
			continue
		}
		haveLane = true
		if r := l.last(); r != nil && (best == nil || r.At > best.last().At) {
			best = l
		}
	}
	if !haveLane {
		return nil, reading{}, &visitorRefusal{Error: refuseNoVisitorLane}
	}
	if best == nil || nowMs-best.last().At > s.o.VisitorWindow.Milliseconds() {
		return nil, reading{}, &visitorRefusal{Error: refuseNoReading}
	}
	r := *best.last()
	refuse := func(why string) *visitorRefusal {
		return &visitorRefusal{Error: why, Lane: best.name, Verdict: r.Verdict, BodyC: r.BodyC}
	}
	switch {
	case r.Drill:
		return nil, reading{}, refuse(refuseDrillReading)
	case r.Verdict != event.VerdictPass || r.BodyC == nil:
		// A flagged visitor goes to the re-check like anyone; a retake
		// is measured again first.
		return nil, reading{}, refuse(refuseNotPass)
	case best.admitted == r.At:
		return nil, reading{}, refuse(refuseReadingUsed)
	}
	best.admitted = r.At
	return best, r, nil
}

func (s *Screen) serveRegisterVisitor(w http.ResponseWriter, r *http.Request, _ string) {
	log := s.log.With().Str("actor", s.o.Actor).Str("action", "visitor").Logger()
	if s.o.Visitors == nil {
		writeError(w, http.StatusForbidden, "visitors_disabled")
		return
	}
	var req visitorRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := req.validate(); err != nil {
		log.Warn().Err(err).Msg("visitor registration refused")
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.now()
	s.mu.Lock()
	l, rd, refusal := s.admittingReading(now.UnixMilli())
	s.mu.Unlock()
	if refusal != nil {
		// The log names the lane and reading, never the visitor.
		log.Warn().Str("reason", refusal.Error).Str("lane", refusal.Lane).Str("verdict", refusal.Verdict).Msg("visitor registration refused")
		writeJSON(w, http.StatusConflict, refusal)
		return
	}
	v := storage.Visitor{Time: now, Day: s.day(now), Name: req.Name, Phone: req.Phone, Purpose: req.Purpose,
		Host: req.Host, Lane: l.name, BodyC: *rd.BodyC, Verdict: rd.Verdict}
	id, err := s.o.Visitors.PutVisitor(v)
	if err != nil {
		s.mu.Lock()
		if l.admitted == rd.At {
			l.admitted = 0 // not registered: the reading may still admit them
		}
		s.mu.Unlock()
		log.Error().Err(err).Str("lane", l.name).Msg("store visitor")
		writeError(w, http.StatusInternalServerError, "visitor_not_stored")
		return
	}
	v.ID = id
	s.mu.Lock()
	if s.visitorDay != v.Day {
		s.visitorDay, s.visitorCount = v.Day, 0
	}
	s.visitorCount++
	s.broadcast("school", func() any { return s.schoolView() })
	s.mu.Unlock()
	log.Info().Uint64("visitor", id).Str("lane", l.name).Float64("body_c", v.BodyC).Msg("visitor registered")
	writeJSON(w, http.StatusCreated, v)
}

// serveVisitors lists today's visitors to a logged-in session.
func (s *Screen) serveVisitors(w http.ResponseWriter, r *http.Request) {
	if s.o.Visitors == nil {
		writeError(w, http.StatusForbidden, "visitors_disabled")
		return
	}
	day := s.day(s.now())
	vs, err := s.o.Visitors.Visitors(day)
	if err != nil {
		s.log.Error().Err(err).Str("day", day).Msg("list visitors")
		writeError(w, http.StatusInternalServerError, "visitors_unavailable")
		return
	}
	if vs == nil {
		vs = []storage.Visitor{}
	}
	writeJSON(w, http.StatusOK, vs)
}

// countVisitors reads today's count from the book at start.
func (s *Screen) countVisitors() {
	if day, n, ok := s.readVisitorCount(); ok {
		s.visitorDay, s.visitorCount = day, n
	}
}

// RecountVisitors reads today's count from the book again and shows it: for
// a daemon whose store opened after the screen was made (the book said
// nothing until then).
func (s *Screen) RecountVisitors() {
	day, n, ok := s.readVisitorCount()
	if !ok {
		return
	}
	s.mu.Lock()
	s.visitorDay, s.visitorCount = day, n
	s.broadcast("school", func() any { return s.schoolView() })
	s.mu.Unlock()
}

func (s *Screen) readVisitorCount() (day string, n int, ok bool) {
	if s.o.Visitors == nil {
		return "", 0, false
	}
	day = s.day(s.now())
	vs, err := s.o.Visitors.Visitors(day)
	if err != nil {
		s.log.Error().Err(err).Str("day", day).Msg("count today's visitors")
		return "", 0, false
	}
	return day, len(vs), true
}
