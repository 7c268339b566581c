package screen

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// Desk is the re-check case desk the doctor's form acts on. pipeline.Cases
// implements it.
type Desk interface {
	Open() []event.Case
	Get(ticket string) (event.Case, bool)
	Recheck(ticket string, tempC float64, actor string) (event.Case, error)
	Refer(ticket string, contactHistory bool, actor string) (event.Case, error)
	Close(ticket string, outcome string, actor string) (event.Case, error)
}

// Selector is optionally implemented by a Desk (pipeline.Cases does): the
// case the doctor selects on the screen is the one the next reading of a
// re-check lane resolves.
type Selector interface {
	Select(ticket string) error
}

// Opts configures a Screen. The zero value of every field means its default.
type Opts struct {
	// Lanes are the configured lanes, indexed by Measurement.Lane. A lane's
	// thermometer (Lanes[i].Device, an index of Devices) decides whether the
	// page may show its verdicts: while it is down or degraded the lane
	// shows the fault, never a pass. A lane whose index is not one of
	// Devices has no thermometer to watch.
	Lanes []pipeline.Lane
	// Devices are the configured devices, indexed by Measurement.Device.
	Devices []pipeline.DeviceInfo
	// Desk receives the doctor's actions; nil disables the form.
	Desk Desk
	// DoctorPIN is the doctor's PIN or password (see LoadPIN); empty
	// disables the form. Surrounding white space is ignored.
	DoctorPIN []byte
	// Actor is the name the doctor's actions are recorded under; default
	// "doctor".
	Actor string
	// Lang is the default language: "zh-CN" (default) or "en".
	Lang string
	// MaxAttempts wrong PINs in a row from one client (IP address) lock
	// that client's logins for Lockout, doubled at each further lock of
	// the same client (at most 24 h); defaults 5 and 5 minutes.
	MaxAttempts int
	Lockout     time.Duration
	// SessionIdle ends a doctor's session unused this long; default 30m.
	SessionIdle time.Duration
	// RecheckOverdue marks a case waiting longer as overdue; default 10m.
	RecheckOverdue time.Duration
	// IdleAfter returns a lane showing pass, retake or invalid to READY
	// after this long, so the next person does not see an old verdict;
	// default 3s, as long as the lamp holds it.
	IdleAfter time.Duration
	// FlagHold is how long a flagged person's red stays on the lane tile.
	// 0 (default): until the person is at the re-check desk — the doctor
	// selects the ticket, records the re-check or the case ends. Otherwise
	// for this long after the flag (or until the case ends, if earlier).
	// The next person's reading never ends it; it shows in the lane's
	// recent readings.
	FlagHold time.Duration
	// Recent is how many readings each lane keeps; default 8.
	Recent int
	// ClientBuffer is how many messages an SSE client may lag behind
	// before it is resynchronised; default 64.
	ClientBuffer int
	// MaxClients bounds concurrent SSE clients; default 32.
	MaxClients int
	// MaxClientsPerHost bounds the SSE clients of one IP address, so one
	// machine on the LAN cannot take every slot; default 4.
	MaxClientsPerHost int
	// Hosts are the host names the screen is reached by (e.g.
	// "gate-box.local"), besides IP literals and localhost, which are
	// always accepted. A request naming any other host is refused (421), so
	// a web page that rebinds its own name to the box's address (DNS
	// rebinding) cannot read the screen or try PINs from a teacher's
	// browser. Default none.
	Hosts []string
	// Critical components make /healthz answer 503 when down; default
	// storage and pipeline.
	Critical []string
	// Location decides when today's tallies start; default time.Local.
	Location *time.Location
	// Now is the wall clock (the one that stamps the readings, so that
	// today's visitors and the readings' ages agree); default time.Now.
	Now func() time.Time
	// Driller starts a drill from the doctor's panel; nil hides the drill
	// button.
	Driller Driller
	// Visitors keeps the visitor book; nil hides the visitor form.
	Visitors VisitorBook
	// TeacherPIN is the class teachers' PIN (see LoadPIN): a teacher's
	// session sees the absentees and records why each is absent, nothing
	// of the doctor's desk. Empty: no teacher login.
	TeacherPIN []byte
	// Absences records what a teacher or the doctor says of an absentee;
	// nil hides the form.
	Absences AbsenceBook
	// VisitorWindow is how recent the visitor lane's reading must be to
	// register a visitor on it; default 2m.
	VisitorWindow time.Duration
	// Thermal gives the frames of the thermal arrays' readings: the lane's
	// tile shows the frame of its current reading as a small thumbnail, on
	// this screen only. nil: no thumbnails.
	Thermal ThermalImages
	Logger  zerolog.Logger
}

// LoadPIN reads the doctor's PIN file. Surrounding white space (the final
// newline) is dropped; an empty file is an error, never an open form.
func LoadPIN(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("screen: doctor PIN file: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("screen: doctor PIN file %s is empty", path)
	}
	return b, nil
}

// Screen holds what the screen shows and serves it. Its push methods are safe
// for concurrent use and never block on a browser.
type Screen struct {
	o    Opts
	log  zerolog.Logger
	auth *auth
	now  func() time.Time
	// hosts are Opts.Hosts, lower case.
	hosts map[string]bool

	// mu guards the state below and orders broadcasts: a message is queued
	// to clients while mu is held, so clients see changes in order.
	mu         sync.Mutex
	lanes      []*lane
	laneIndex  map[string]int
	cases      map[string]event.Case
	devices    map[string]componentState
	components map[string]componentState
	calib      map[string]componentState
	banners    map[string]Banner
	uplink     string
	// drillTickets are the tickets opened by drill readings: event.Case
	// does not say, the flagged measurement does.
	drillTickets map[string]bool
	absentees    Absentees
	daily        *event.Daily
	visitorDay   string
	visitorCount int
	dayEnd       int64 // Unix ms at which today's tallies end
	clients      map[*client]struct{}
	perHost      map[string]int // SSE clients by IP address

	dropped atomic.Uint64
}

// Banner is a message across the top of the screen. Text is an i18n key
// (e.g. "banner_drill") or literal text.
type Banner struct {
	ID    string `json:"id"`
	Level string `json:"level"` // info, warning or alert
	Text  string `json:"text"`
	// Arg is shown after the text, e.g. a device name.
	Arg string `json:"arg,omitempty"`
}

type componentState struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	Since  int64  `json:"since"`
}

// New validates o and returns a Screen. It reads the open cases from the
// Desk, if any.
func New(o Opts) (*Screen, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	hosts, err := hostSet(o.Hosts)
	if err != nil {
		return nil, err
	}
	s := &Screen{
		o:            o,
		hosts:        hosts,
		log:          o.Logger.With().Str("component", "screen").Logger(),
		now:          o.Now,
		laneIndex:    make(map[string]int, len(o.Lanes)),
		cases:        make(map[string]event.Case),
		devices:      make(map[string]componentState),
		components:   make(map[string]componentState),
		calib:        make(map[string]componentState),
		banners:      make(map[string]Banner),
		drillTickets: make(map[string]bool),
		uplink:       "unknown",
		clients:      make(map[*client]struct{}),
		perHost:      make(map[string]int),
	}
	s.auth = newAuth(bytes.TrimSpace(o.DoctorPIN), bytes.TrimSpace(o.TeacherPIN), o.Desk != nil, o.MaxAttempts, o.Lockout, o.SessionIdle)
	if err := s.addLanes(); err != nil {
		return nil, err
	}
	for _, d := range o.Devices {
		s.devices[d.Name] = componentState{Name: d.Name, State: "unknown"}
	}
	if o.Desk != nil {
		for _, c := range o.Desk.Open() {
			s.cases[c.Ticket] = c
		}
	}
	s.countVisitors()
	return s, nil
}

// withDefaults returns o with every zero field set to its default, or why
// o is refused.
func (o Opts) withDefaults() (Opts, error) {
	if o.Actor == "" {
		o.Actor = "doctor"
	}
	switch o.Lang {
	case "":
		o.Lang = langZH
	case langZH, langEN:
	default:
		return o, fmt.Errorf("screen: lang %q: want zh-CN or en", o.Lang)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Lockout <= 0 {
		o.Lockout = 5 * time.Minute
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.RecheckOverdue <= 0 {
		o.RecheckOverdue = 10 * time.Minute
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = 3 * time.Second
	}
	if o.FlagHold < 0 {
		return o, fmt.Errorf("screen: flag hold %v is negative", o.FlagHold)
	}
	if o.Recent <= 0 {
		o.Recent = 8
	}
	if o.ClientBuffer <= 0 {
		o.ClientBuffer = 64
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 32
	}
	if o.MaxClientsPerHost <= 0 {
		o.MaxClientsPerHost = 4
	}
	if o.Critical == nil {
		o.Critical = []string{"storage", "pipeline"}
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.VisitorWindow <= 0 {
		o.VisitorWindow = 2 * time.Minute
	}
	if len(o.Lanes) > 256 {
		return o, errors.New("screen: more than 256 lanes")
	}
	return o, nil
}

// hostSet checks Opts.Hosts and returns them lower case, without a final
// dot, for the Host check of every request.
func hostSet(names []string) (map[string]bool, error) {
	hosts := make(map[string]bool, len(names))
	for _, h := range names {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			return nil, fmt.Errorf("screen: host %q: want a host name without port", h)
		}
		hosts[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return hosts, nil
}

// addLanes sets up the configured lanes, each with its thermometer's name.
func (s *Screen) addLanes() error {
	for i, l := range s.o.Lanes {
		if _, dup := s.laneIndex[l.Name]; dup {
			return fmt.Errorf("screen: lane %q listed twice", l.Name)
		}
		s.laneIndex[l.Name] = i
		s.lanes = append(s.lanes, &lane{name: l.Name, role: l.Role, label: l.Label, device: s.laneDevice(l),
			ring: make([]reading, s.o.Recent)})
	}
	return nil
}

// DoctorEnabled reports whether the doctor's form is usable (a PIN and a
// Desk were given).
func (s *Screen) DoctorEnabled() bool { return s.auth.enabled }

// Dropped is the number of messages dropped for slow SSE clients (each of
// which was then resynchronised); the daemon feeds it to the metrics.
func (s *Screen) Dropped() uint64 { return s.dropped.Load() }

// Consume shows one measurement on its lane; Screen is a pipeline.Sink.
func (s *Screen) Consume(m *pipeline.Measurement) {
	r := reading{
		At:       unixMillis(m.Wall, s.now),
		Device:   s.deviceName(m.Device),
		Verdict:  m.Verdict.String(),
		Reason:   m.Reason.String(),
		Drill:    m.Drill,
		Warnings: m.Warnings.Names(),
	}
	if m.Verdict == pipeline.VerdictFlag && m.Ticket != 0 {
		r.Ticket = pipeline.TicketName(m.Ticket)
	}
	if m.BodyC == m.BodyC { // NaN (invalid) stays null
		v := roundTenth(m.BodyC)
		r.BodyC = &v
	}
	thumb := s.thumb(m, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDay(r.At)
	l := s.laneAt(m.Lane)
	l.push(r, s.o.FlagHold)
	l.thumb = thumb
	if r.Drill && l.ticket != "" {
		s.markDrill(l.ticket)
	}
	if l.ambient != m.Warnings&(pipeline.WarnAmbientLow|pipeline.WarnAmbientHigh) {
		l.ambient = m.Warnings & (pipeline.WarnAmbientLow | pipeline.WarnAmbientHigh)
		s.updateAmbientBanner()
		s.broadcast("health", func() any { return s.healthView() })
	}
	s.broadcast("lane", func() any { return l.view(s.o.IdleAfter, s.o.FlagHold) })
}

// CaseChanged shows a case transition: the queue, and the lane's colour (a
// flag stays red until its case leaves awaiting_recheck; see
// Opts.FlagHold).
func (s *Screen) CaseChanged(c event.Case) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyCase(c)
}

func (s *Screen) applyCase(c event.Case) {
	switch c.State {
	case event.CaseCleared, event.CaseClosed:
		delete(s.cases, c.Ticket)
		delete(s.drillTickets, c.Ticket)
	default:
		s.cases[c.Ticket] = c
	}
	if i, ok := s.laneIndex[c.Lane]; ok {
		l := s.lanes[i]
		if l.applyCase(c) {
			s.broadcast("lane", func() any { return l.view(s.o.IdleAfter, s.o.FlagHold) })
		}
		if last := l.last(); last != nil && last.Drill && last.Ticket == c.Ticket && c.State == event.CaseAwaitingRecheck {
			s.drillTickets[c.Ticket] = true
		}
	}
	s.broadcast("cases", func() any { return s.casesView() })
}

// markDrill records that a drill opened ticket and, when its case reached
// the screen first, shows the queue again with the mark. Call with s.mu
// held.
func (s *Screen) markDrill(ticket string) {
	if s.drillTickets[ticket] {
		return
	}
	s.drillTickets[ticket] = true
	if _, open := s.cases[ticket]; open {
		s.broadcast("cases", func() any { return s.casesView() })
	}
}

// Health shows a device or component condition. Component "calibration"
// raises a banner for its device while its state is not ok: 校准已过期
// (key banner_calibration_overdue) when Reason starts with "overdue",
// 校准离散度过大 (banner_calibration_spread) when it starts with "spread",
// else 需要校准 (banner_calibration); the reason follows the device name.
func (s *Screen) Health(h event.Health) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixMilli()
	switch h.Component {
	case "device":
		name := h.Device
		s.devices[name] = since(s.devices[name], componentState{Name: name, State: h.State, Reason: h.Reason}, now)
	case "calibration":
		name := h.Device
		if h.State == event.HealthOK || h.State == event.HealthUp {
			delete(s.calib, name)
		} else {
			s.calib[name] = componentState{Name: name, State: h.State, Reason: h.Reason, Since: now}
		}
	default:
		s.components[h.Component] = since(s.components[h.Component], componentState{Name: h.Component, State: h.State, Reason: h.Reason}, now)
	}
	s.broadcast("health", func() any { return s.healthView() })
}

// SetUplink shows the district uplink's state, e.g. "connected",
// "connecting", "offline" or "disabled".
func (s *Screen) SetUplink(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uplink = state
	s.broadcast("health", func() any { return s.healthView() })
}

// SetBanner shows b until it is replaced or removed by ClearBanner. The
// ambient and calibration banners are raised by the screen itself. Text
// keys the page translates: banner_drill, banner_calibration,
// banner_calibration_overdue (校准已过期), banner_calibration_spread
// (校准离散度过大), banner_ambient_low, banner_ambient_high.
func (s *Screen) SetBanner(b Banner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.banners[b.ID] = b
	s.broadcast("health", func() any { return s.healthView() })
}

// ClearBanner removes the banner with this id.
func (s *Screen) ClearBanner(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.banners, id)
	s.broadcast("health", func() any { return s.healthView() })
}

func since(prev, next componentState, now int64) componentState {
	next.Since = now
	if prev.State == next.State && prev.Since != 0 {
		next.Since = prev.Since
	}
	return next
}

func (s *Screen) deviceName(i uint16) string {
	if int(i) < len(s.o.Devices) {
		return s.o.Devices[i].Name
	}
	return fmt.Sprintf("device%d", i)
}

// laneDevice names the lane's thermometer; "" when it has none.
func (s *Screen) laneDevice(l pipeline.Lane) string {
	if l.Device >= 0 && l.Device < len(s.o.Devices) {
		return s.o.Devices[l.Device].Name
	}
	return ""
}

// laneAt returns the lane of index i, adding a placeholder for an index the
// configuration did not name so a reading is never hidden. Call with mu held.
func (s *Screen) laneAt(i uint8) *lane {
	for int(i) >= len(s.lanes) {
		name := fmt.Sprintf("lane%d", len(s.lanes))
		s.laneIndex[name] = len(s.lanes)
		s.lanes = append(s.lanes, &lane{name: name, ring: make([]reading, s.o.Recent)})
	}
	return s.lanes[i]
}

// rollDay resets the tallies when a reading belongs to a later local day. A
// late reading from before midnight is counted in the new day.
func (s *Screen) rollDay(atMillis int64) {
	if atMillis < s.dayEnd {
		return
	}
	t := time.UnixMilli(atMillis).In(s.o.Location)
	y, m, d := t.Date()
	s.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, s.o.Location).UnixMilli()
	for _, l := range s.lanes {
		l.tally = tally{}
	}
	// Tickets restart at R-001 every day: a drill mark without an open case
	// must not fall on a new day's real ticket.
	for ticket := range s.drillTickets {
		if _, open := s.cases[ticket]; !open {
			delete(s.drillTickets, ticket)
		}
	}
}

// updateAmbientBanner raises the ambient banner while any lane's last
// reading was taken outside the ambient window.
func (s *Screen) updateAmbientBanner() {
	var w pipeline.Warning
	var names []string
	for _, l := range s.lanes {
		if l.ambient != 0 {
			w |= l.ambient
			names = append(names, cmp.Or(l.label, l.name))
		}
	}
	if w == 0 {
		delete(s.banners, "ambient")
		return
	}
	text := "banner_ambient_low"
	if w&pipeline.WarnAmbientHigh != 0 {
		text = "banner_ambient_high"
	}
	s.banners["ambient"] = Banner{ID: "ambient", Level: "warning", Text: text, Arg: strings.Join(names, ", ")}
}

// unixMillis converts a Unix-ns wall time, or now when the pipeline gave
// none.
func unixMillis(wallNs int64, now func() time.Time) int64 {
	if wallNs <= 0 {
		return now().UnixMilli()
	}
	return wallNs / int64(time.Millisecond)
}

// openedMillis is when a case opened, in Unix milliseconds; 0 if unknown.
func openedMillis(t event.Time) int64 {
	if t <= 0 {
		return 0
	}
	return t.Time().UnixMilli()
}

func roundTenth(v float64) float64 {
	if v < 0 {
		return float64(int64(v*10-0.5)) / 10
	}
	return float64(int64(v*10+0.5)) / 10
}

var _ pipeline.Sink = (*Screen)(nil)
