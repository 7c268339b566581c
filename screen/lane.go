package screen

import (
	"sort"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// Lane states shown on the screen. Ready is a lane with nothing to show.
const (
	stateReady   = "ready"
	statePass    = event.VerdictPass
	stateFlag    = event.VerdictFlag
	stateRetake  = event.VerdictRetake
	stateInvalid = event.VerdictInvalid
)

// reading is one measurement as the screen shows it.
type reading struct {
	At       int64    `json:"at"` // Unix ms
	Device   string   `json:"device"`
	BodyC    *float64 `json:"body_c"`
	Verdict  string   `json:"verdict"`
	Reason   string   `json:"reason,omitempty"`
	Drill    bool     `json:"drill,omitempty"`
	Ticket   string   `json:"ticket,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

type tally struct {
	Pass    int `json:"pass"`
	Flag    int `json:"flag"`
	Retake  int `json:"retake"`
	Invalid int `json:"invalid"`
	// Drill readings are counted apart, never in the four above.
	Drill int `json:"drill"`
}

func (t *tally) add(r reading) {
	if r.Drill {
		t.Drill++
		return
	}
	switch r.Verdict {
	case event.VerdictPass:
		t.Pass++
	case event.VerdictFlag:
		t.Flag++
	case event.VerdictRetake:
		t.Retake++
	default:
		t.Invalid++
	}
}

// lane is one lane's state; guarded by Screen.mu.
type lane struct {
	name, role, label string
	// device is the lane's thermometer: its health decides whether the
	// page may show the lane's verdicts at all.
	device string
	state  string
	ticket string
	// flagged is the flagged reading the lane holds red while its case
	// waits for the re-check desk (see holding); nil otherwise.
	flagged *reading
	// pendingTicket is a case opened on this lane before its flagged
	// measurement reached the screen (they travel on different paths).
	pendingTicket string
	ring          []reading // bounded; head is the next slot
	head, n       int
	tally         tally
	ambient       pipeline.Warning
	// admitted is the time (At) of the reading that last admitted a
	// visitor, so one pass registers one visitor.
	admitted int64
	// thumb is the newest reading's thermal thumbnail, nil without one.
	thumb *thumbView
}

// holding reports whether the lane still holds a flag red at time at (Unix
// ms): its case waits for the desk and, with a flagHold, that time has not
// passed. The next person's reading does not end it.
func (l *lane) holding(at int64, flagHold time.Duration) bool {
	if l.state != stateFlag || l.ticket == "" || l.flagged == nil {
		return false
	}
	return flagHold <= 0 || at < l.flagged.At+flagHold.Milliseconds()
}

func (l *lane) push(r reading, flagHold time.Duration) {
	if r.Verdict == event.VerdictFlag {
		// The pipeline names the ticket in the measurement; without it,
		// a case that arrived first lends its ticket.
		if r.Ticket == "" {
			r.Ticket = l.pendingTicket
		}
		l.state, l.ticket, l.pendingTicket = stateFlag, r.Ticket, ""
		held := r
		l.flagged = &held
	} else if !l.holding(r.At, flagHold) {
		l.state, l.ticket, l.flagged = r.Verdict, "", nil
		if r.Verdict == pipeline.VerdictNone.String() {
			l.state = stateInvalid // never green, never blank
		}
	}
	l.ring[l.head] = r
	l.head = (l.head + 1) % len(l.ring)
	if l.n < len(l.ring) {
		l.n++
	}
	l.tally.add(r)
}

// last returns the newest reading, if any.
func (l *lane) last() *reading {
	if l.n == 0 {
		return nil
	}
	return &l.ring[(l.head-1+len(l.ring))%len(l.ring)]
}

// applyCase applies the lane colour rule to a case transition and reports
// whether the lane changed.
func (l *lane) applyCase(c event.Case) bool {
	switch c.State {
	case event.CaseAwaitingRecheck:
		if l.state == stateFlag && l.ticket == "" {
			l.ticket = c.Ticket
			if r := l.last(); r != nil && r.Verdict == event.VerdictFlag {
				r.Ticket = c.Ticket
			}
			if l.flagged != nil {
				l.flagged.Ticket = c.Ticket
			}
			return true
		}
		if l.ticket != c.Ticket {
			l.pendingTicket = c.Ticket
		}
	case event.CaseConfirmed, event.CaseCleared, event.CaseReferred, event.CaseClosed:
		// The person is at the re-check desk: the lane is free for the
		// next one, as its lamp is.
		if l.pendingTicket == c.Ticket {
			l.pendingTicket = ""
		}
		return l.release(c.Ticket)
	}
	return false
}

// release ends the red of ticket on this lane, when the lane holds it, and
// reports whether it did.
func (l *lane) release(ticket string) bool {
	if l.state != stateFlag || l.ticket != ticket {
		return false
	}
	l.state, l.ticket, l.flagged = stateReady, "", nil
	return true
}

type laneView struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	Role  string `json:"role,omitempty"`
	// Device is the lane's thermometer; while it is down or degraded the
	// page shows the fault instead of any verdict but a flag.
	Device string `json:"device,omitempty"`
	State  string `json:"state"`
	Ticket string `json:"ticket,omitempty"`
	// Flagged is the reading a flag state shows: the flagged person,
	// also after the next person's reading.
	Flagged *reading  `json:"flagged,omitempty"`
	Last    *reading  `json:"last,omitempty"`
	Recent  []reading `json:"recent"` // newest first
	Tally   tally     `json:"tally"`
	// IdleMs lets the page return pass/retake/invalid to READY by itself.
	IdleMs int64 `json:"idle_ms"`
	// FlagHoldMs, when not 0, lets the page end a flag's red that long
	// after it (Opts.FlagHold).
	FlagHoldMs int64 `json:"flag_hold_ms,omitempty"`
	// Thumb is the newest reading's thermal thumbnail; the page shows it
	// with that reading while the reading is current.
	Thumb *thumbView `json:"thumb,omitempty"`
}

func (l *lane) view(idleAfter, flagHold time.Duration) laneView {
	v := laneView{Name: l.name, Label: l.label, Role: l.role, Device: l.device, State: l.state, Ticket: l.ticket,
		Recent: make([]reading, 0, l.n), Tally: l.tally,
		IdleMs: idleAfter.Milliseconds(), FlagHoldMs: flagHold.Milliseconds(), Thumb: l.thumb}
	if l.flagged != nil {
		f := *l.flagged // the view outlives Screen.mu (serveState encodes after)
		v.Flagged = &f
	}
	if v.State == "" {
		v.State = stateReady
	}
	for i := 1; i <= l.n; i++ {
		v.Recent = append(v.Recent, l.ring[(l.head-i+len(l.ring))%len(l.ring)])
	}
	if len(v.Recent) > 0 {
		v.Last = &v.Recent[0]
	}
	return v
}

type caseView struct {
	event.Case
	OpenedMs int64 `json:"opened_ms"`
	// Overdue is true when the case has waited for its re-check longer
	// than Opts.RecheckOverdue at the time of the view; the page keeps
	// counting by itself.
	Overdue bool `json:"overdue"`
	// Drill marks a case opened by a drill reading: known from the case
	// (Case.Drill, also after a restart) or from the drill reading shown.
	Drill bool `json:"drill,omitempty"`
}

// publicCase is what anyone at the gate may see of a case: the queue, not
// the medical record. The re-check result, contact history, disposition,
// outcome and person stay with the doctor's session.
func publicCase(c event.Case) event.Case {
	return event.Case{Ticket: c.Ticket, Day: c.Day, Lane: c.Lane, Role: c.Role, State: c.State,
		ReadingSeq: c.ReadingSeq, FlagC: c.FlagC, OpenedAt: c.OpenedAt, Drill: c.Drill}
}

// caseView is built with s.mu held.
func (s *Screen) caseView(c event.Case) caseView {
	v := caseView{Case: c, OpenedMs: openedMillis(c.OpenedAt), Drill: c.Drill || s.drillTickets[c.Ticket]}
	v.Overdue = c.State == event.CaseAwaitingRecheck && v.OpenedMs > 0 &&
		s.now().UnixMilli()-v.OpenedMs > s.o.RecheckOverdue.Milliseconds()
	return v
}

type healthView struct {
	Devices    []componentState `json:"devices"`
	Components []componentState `json:"components"`
	Banners    []Banner         `json:"banners"`
	Uplink     string           `json:"uplink"`
}

// clockView is the server's time and the school's UTC offset at that time,
// both in ms: the page shows school time (Opts.Location), not the
// tablet's.
type clockView struct {
	Now        int64 `json:"now"`
	TZOffsetMs int64 `json:"tz_offset_ms"`
}

func (s *Screen) clockView() clockView {
	t := s.now().In(s.o.Location)
	_, off := t.Zone()
	return clockView{Now: t.UnixMilli(), TZOffsetMs: int64(off) * 1000}
}

type stateView struct {
	clockView
	DoctorEnabled bool       `json:"doctor_enabled"`
	OverdueMs     int64      `json:"overdue_ms"`
	Lanes         []laneView `json:"lanes"`
	Cases         []caseView `json:"cases"`
	Health        healthView `json:"health"`
	School        schoolView `json:"school"`
}

// The views below are built with Screen.mu held.

func (s *Screen) casesView() []caseView {
	out := make([]caseView, 0, len(s.cases))
	for _, c := range s.cases {
		out = append(out, s.caseView(publicCase(c)))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].OpenedMs != out[j].OpenedMs {
			return out[i].OpenedMs < out[j].OpenedMs
		}
		return out[i].Ticket < out[j].Ticket
	})
	return out
}

func (s *Screen) healthView() healthView {
	h := healthView{Uplink: s.uplink, Devices: sortedStates(s.devices), Components: sortedStates(s.components)}
	for _, id := range sortedKeys(s.banners) {
		h.Banners = append(h.Banners, s.banners[id])
	}
	for _, c := range sortedStates(s.calib) {
		h.Banners = append(h.Banners, Banner{ID: "calibration:" + c.Name, Level: "warning", Text: calibrationBanner(c.Reason), Arg: c.Name})
	}
	if h.Banners == nil {
		h.Banners = []Banner{}
	}
	return h
}

func (s *Screen) stateView() stateView {
	v := stateView{
		clockView:     s.clockView(),
		DoctorEnabled: s.auth.enabled,
		OverdueMs:     s.o.RecheckOverdue.Milliseconds(),
		Cases:         s.casesView(),
		Health:        s.healthView(),
		School:        s.schoolView(),
	}
	for _, l := range s.lanes {
		v.Lanes = append(v.Lanes, l.view(s.o.IdleAfter, s.o.FlagHold))
	}
	return v
}

// calibrationBanner picks the banner text for a calibration warning by its
// reason.
func calibrationBanner(reason string) string {
	switch {
	case strings.HasPrefix(reason, "overdue"):
		return "banner_calibration_overdue"
	case strings.HasPrefix(reason, "spread"):
		return "banner_calibration_spread"
	}
	return "banner_calibration"
}

func sortedStates(m map[string]componentState) []componentState {
	out := make([]componentState, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
