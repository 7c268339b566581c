package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/report"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// Thresholds of the screen's warnings.
const (
	// backlogAfter: a box whose newest event was captured this much before
	// it arrived is uploading a backlog.
	backlogAfter = 2 * time.Minute
	// clockAheadAfter: an event captured this far after it arrived comes
	// from a clock running ahead.
	clockAheadAfter = 2 * time.Minute
	// calibrationOffset and calibrationSpread: a calibration record past
	// either is worth a look (a drifting sensor, an unsteady reference).
	calibrationOffset = 0.5
	calibrationSpread = 0.3
	// chartDays is the fever-rate chart's span, today included.
	chartDays = 14
)

// Screen is what the page shows, as /api/v1/screen sends it. Sections a
// role may not see are absent.
type Screen struct {
	Now      string `json:"now"` // district time, for a person
	Day      string `json:"day"`
	User     string `json:"user"`
	Role     string `json:"role"`
	Deadline string `json:"deadline"` // HH:MM
	// ReportDay is the latest day whose deadline has passed; SchoolDay is
	// false when it is a weekend (no report was owed).
	ReportDay string   `json:"report_day"`
	SchoolDay bool     `json:"school_day"`
	Schools   []School `json:"schools"`
	Cases     []Case   `json:"cases"`
	// Bureau only.
	Gates    []Gate    `json:"gates,omitempty"`
	Warnings []Warning `json:"warnings,omitempty"`
	Alerts   []Alert   `json:"alerts"`
}

// School is a school's day: its readings so far, its reports and chart.
type School struct {
	School string       `json:"school"`
	Today  store.Counts `json:"today"` // readings captured today, drills apart
	// Today's reports so far, and those of ReportDay.
	Reported int `json:"reported"`
	Gates    int `json:"gates"`
	// The report day's: gates that owed one, reported, late (迟报) and
	// missing (漏报).
	DueGates    int    `json:"due_gates"`
	DueReported int    `json:"due_reported"`
	Late        bool   `json:"late"`
	Missing     bool   `json:"missing"`
	ReceivedAt  string `json:"received_at,omitempty"`
	// Rates are the fever rates (flags per reading, %) of the 14 days,
	// oldest first; -1 for a day with no reading.
	Rates []float64 `json:"rates"`
	Chart string    `json:"chart"` // inline SVG
}

// Gate is a box with its status and what it last sent.
type Gate struct {
	School string `json:"school"`
	Gate   string `json:"gate"`
	Box    string `json:"box"`
	// State is online, offline or unknown (no status yet); Since when, for
	// a person; Reason the offline's (connection_lost: the last will).
	State    string `json:"state"`
	Since    string `json:"since"`
	Reason   string `json:"reason,omitempty"`
	LastKind string `json:"last_kind,omitempty"`
	LastAt   string `json:"last_at,omitempty"` // when it arrived
	// BacklogMin: its newest event arrived this many minutes after its
	// capture (0: none). Clock: "", unsynced, ahead, or off (its capture
	// outside the ingester's clock skew or longest backlog of its arrival:
	// counted at its arrival), ClockOffMin then the capture minus the
	// arrival (negative: behind).
	BacklogMin  int    `json:"backlog_min,omitempty"`
	Clock       string `json:"clock,omitempty"`
	ClockOffMin int    `json:"clock_off_min,omitempty"`
	Unsynced    int64  `json:"unsynced,omitempty"`
	Version     string `json:"version,omitempty"`
}

// Case is a re-check case by its latest transition.
type Case struct {
	School      string   `json:"school"`
	Gate        string   `json:"gate"`
	Ticket      string   `json:"ticket"`
	Day         string   `json:"day"`
	Lane        string   `json:"lane"`
	State       string   `json:"state"`
	Disposition string   `json:"disposition,omitempty"`
	FlagC       *float64 `json:"flag_c,omitempty"`
	RecheckC    *float64 `json:"recheck_c,omitempty"`
	At          string   `json:"at"` // the latest transition's capture, for a person
	// capturedAt is At as stored (TimeFormat), which sorts across a new
	// year where "MM-DD HH:MM" does not.
	capturedAt string
}

// Warning is a device-health or calibration condition worth a look.
type Warning struct {
	School    string  `json:"school"`
	Gate      string  `json:"gate"`
	Kind      string  `json:"kind"` // health, calibration
	Component string  `json:"component,omitempty"`
	Device    string  `json:"device,omitempty"`
	State     string  `json:"state,omitempty"`
	Reason    string  `json:"reason,omitempty"` // the box's words (English)
	OffsetC   float64 `json:"offset_c,omitempty"`
	SpreadC   float64 `json:"spread_c,omitempty"`
	At        string  `json:"at"`
}

// Alert is a raised alert.
type Alert struct {
	Kind   string `json:"kind"`
	School string `json:"school"`
	Gate   string `json:"gate"`
	At     string `json:"at"`
	// Ticket for a case's, Day for a missing report's.
	Ticket string `json:"ticket,omitempty"`
	Day    string `json:"day,omitempty"`
}

// Store is what the screen reads; *store.Store is one.
type Store interface {
	report.Source
	UserByName(ctx context.Context, name string) (store.User, bool, error)
	Activity(ctx context.Context, since string) ([]store.BoxActivity, error)
	ReadingCounts(ctx context.Context, from, to string) ([]store.SchoolCounts, error)
	DailyReportsBetween(ctx context.Context, from, to string) ([]store.StoredDaily, error)
	HealthEvents(ctx context.Context, since string) ([]store.StoredEvent, error)
	RecentAlerts(ctx context.Context, since string, kinds []string, limit int) ([]store.Alert, error)
}

func utc(t time.Time) string { return t.UTC().Format(store.TimeFormat) }

// build reads the screen of role at now.
func (s *Server) build(ctx context.Context, user, role, lang string, now time.Time) (*Screen, error) {
	sched := s.opts.Schedule
	day := sched.Day(now)
	start, _, err := sched.Bounds(day)
	if err != nil {
		return nil, err
	}
	tomorrow := start.AddDate(0, 0, 1)
	reportDay, _ := sched.LastDue(now)
	sc := &Screen{Now: now.In(sched.Loc).Format("2006-01-02 15:04"), Day: day, User: user, Role: role,
		Deadline:  fmt.Sprintf("%02d:%02d", int(sched.Deadline.Hours()), int(sched.Deadline.Minutes())%60),
		ReportDay: reportDay, SchoolDay: sched.SchoolDay(reportDay), Schools: []School{}, Cases: []Case{}, Alerts: []Alert{}}

	schools := map[string]*School{}
	school := func(name string) *School {
		if schools[name] == nil {
			schools[name] = &School{School: name}
		}
		return schools[name]
	}
	boxes, err := s.opts.Store.Boxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("screen: boxes: %w", err)
	}
	for _, b := range boxes {
		school(b.Site.School)
	}
	counts, err := s.opts.Store.ReadingCounts(ctx, utc(start), utc(tomorrow))
	if err != nil {
		return nil, fmt.Errorf("screen: %w", err)
	}
	for _, c := range counts {
		school(c.School).Today = c.Counts
	}
	if err := s.addReports(ctx, school, day, reportDay, now); err != nil {
		return nil, err
	}
	if err := s.addRates(ctx, school, start, counts, lang); err != nil {
		return nil, err
	}
	for _, x := range schools {
		sc.Schools = append(sc.Schools, *x)
	}
	sort.Slice(sc.Schools, func(i, j int) bool { return sc.Schools[i].School < sc.Schools[j].School })

	if sc.Cases, err = s.cases(ctx, now); err != nil {
		return nil, err
	}
	if sc.Alerts, err = s.alerts(ctx, role, now); err != nil {
		return nil, err
	}
	if role != store.RoleBureau {
		return sc, nil
	}
	if sc.Gates, err = s.gates(ctx, boxes, start, now); err != nil {
		return nil, err
	}
	if sc.Warnings, err = s.warnings(ctx, boxes, now); err != nil {
		return nil, err
	}
	return sc, nil
}

// addReports adds today's reports so far and the report day's 迟报/漏报, as
// the summary (区县汇总表) counts them.
func (s *Server) addReports(ctx context.Context, school func(string) *School, day, reportDay string, now time.Time) error {
	today, err := report.Build(ctx, s.opts.Store, s.opts.Schedule, day, now)
	if err != nil {
		return fmt.Errorf("screen: %w", err)
	}
	for _, r := range today.Rows {
		x := school(r.School)
		x.Reported, x.Gates = r.Reported, r.Gates
	}
	due, err := report.Build(ctx, s.opts.Store, s.opts.Schedule, reportDay, now)
	if err != nil {
		return fmt.Errorf("screen: %w", err)
	}
	owed := s.opts.Schedule.SchoolDay(reportDay)
	for _, r := range due.Rows {
		x := school(r.School)
		x.DueGates, x.DueReported = r.Gates, r.Reported
		x.Late, x.Missing = r.Late, r.Missing && owed
		if !r.ReceivedAt.IsZero() {
			x.ReceivedAt = r.ReceivedAt.Format("01-02 15:04")
		}
	}
	return nil
}

// addRates fills each school's 14 days of fever rates: the daily reports'
// flags per reading, and today's readings so far.
func (s *Server) addRates(ctx context.Context, school func(string) *School, today time.Time, live []store.SchoolCounts, lang string) error {
	sched := s.opts.Schedule
	days := make([]string, chartDays)
	for i := range days {
		days[i] = sched.Day(today.AddDate(0, 0, i-chartDays+1))
	}
	reports, err := s.opts.Store.DailyReportsBetween(ctx, days[0], days[chartDays-2])
	if err != nil {
		return fmt.Errorf("screen: daily reports: %w", err)
	}
	type sum struct{ total, flag int64 }
	sums := map[string]map[string]*sum{}
	add := func(school, day string, c store.Counts) {
		if sums[school] == nil {
			sums[school] = map[string]*sum{}
		}
		if sums[school][day] == nil {
			sums[school][day] = &sum{}
		}
		sums[school][day].total += c.Total
		sums[school][day].flag += c.Flag
	}
	for _, d := range reports {
		add(d.School, d.Day, d.Totals)
	}
	for _, c := range live {
		add(c.School, days[chartDays-1], c.Counts)
	}
	for name := range sums {
		school(name)
	}
	for name, by := range sums {
		x := school(name)
		x.Rates = make([]float64, chartDays)
		for i, d := range days {
			x.Rates[i] = -1
			if v := by[d]; v != nil && v.total > 0 {
				x.Rates[i] = math.Round(float64(v.flag)/float64(v.total)*10000) / 100
			}
		}
		x.Chart = chart(x.Rates, days, lang)
	}
	return nil
}

// cases are the re-check cases of the last 7 days whose latest transition
// is not cleared or closed, and the referred ones, newest first.
func (s *Server) cases(ctx context.Context, now time.Time) ([]Case, error) {
	evs, err := s.opts.Store.CaseEvents(ctx, utc(now.Add(-7*24*time.Hour)))
	if err != nil {
		return nil, fmt.Errorf("screen: cases: %w", err)
	}
	type key struct{ box, day, ticket string }
	latest := map[key]*Case{}
	var order []key
	for _, e := range evs { // by box, then seq: the last is the latest
		if e.Drill {
			continue
		}
		var c struct {
			Ticket, Day, Lane, State, Disposition string
			FlagC                                 *float64 `json:"flag_c"`
			RecheckC                              *float64 `json:"recheck_c"`
		}
		if err := json.Unmarshal(e.Body, &c); err != nil {
			return nil, fmt.Errorf("screen: case event %s: %w", e.ID, err)
		}
		k := key{e.Box, c.Day, c.Ticket}
		if latest[k] == nil {
			latest[k] = &Case{School: e.Site.School, Gate: e.Site.Gate, Ticket: c.Ticket, Day: c.Day, Lane: c.Lane}
			order = append(order, k)
		}
		x := latest[k]
		x.State, x.At, x.capturedAt = c.State, s.local(e.CapturedAt), e.CapturedAt
		if c.Disposition != "" {
			x.Disposition = c.Disposition
		}
		if c.FlagC != nil {
			x.FlagC = c.FlagC
		}
		if c.RecheckC != nil {
			x.RecheckC = c.RecheckC
		}
	}
	out := []Case{}
	for _, k := range order {
		if c := latest[k]; c.State != "cleared" && c.State != "closed" || c.Disposition != "" {
			out = append(out, *c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].capturedAt > out[j].capturedAt })
	return out, nil
}

// caseAlerts are the kinds of alert the CDC liaison sees.
var caseAlerts = []string{store.AlertCaseConfirmed, store.AlertCaseCDC, store.AlertDailyMissing}

func (s *Server) alerts(ctx context.Context, role string, now time.Time) ([]Alert, error) {
	var kinds []string // the bureau's: all
	if role != store.RoleBureau {
		kinds = caseAlerts
	}
	as, err := s.opts.Store.RecentAlerts(ctx, utc(now.Add(-24*time.Hour)), kinds, 50)
	if err != nil {
		return nil, fmt.Errorf("screen: alerts: %w", err)
	}
	out := []Alert{}
	for _, a := range as {
		var data struct{ Ticket, Day string }
		_ = json.Unmarshal([]byte(a.Data), &data) // {} for the kinds without these
		out = append(out, Alert{Kind: a.Kind, School: a.School, Gate: a.Gate, At: s.local(a.At), Ticket: data.Ticket, Day: data.Day})
	}
	return out, nil
}

func (s *Server) gates(ctx context.Context, boxes []store.Box, today time.Time, now time.Time) ([]Gate, error) {
	acts, err := s.opts.Store.Activity(ctx, utc(today))
	if err != nil {
		return nil, fmt.Errorf("screen: activity: %w", err)
	}
	act := map[string]store.BoxActivity{}
	for _, a := range acts {
		act[a.Box] = a
	}
	out := []Gate{}
	for _, b := range boxes {
		g := Gate{School: b.Site.School, Gate: b.Site.Gate, Box: b.Box, State: b.Status.State, Reason: b.Status.Reason, Version: b.Status.Version}
		since := b.Status.Since
		if since == "" { // the last will cannot know: when it arrived
			since = b.StatusReceivedAt
		}
		if g.State == "" {
			g.State, since = "unknown", b.FirstSeen
		}
		g.Since = s.local(since)
		a := act[b.Box]
		if a.Kind != "" {
			g.LastKind, g.LastAt = a.Kind, s.local(a.ReceivedAt)
			captured, err1 := time.Parse(store.TimeFormat, a.CapturedAt)
			received, err2 := time.Parse(store.TimeFormat, a.ReceivedAt)
			switch lag := received.Sub(captured); {
			case err1 != nil || err2 != nil:
			case a.CountedAt != a.CapturedAt:
				// The ingester found the capture further than its clock
				// skew from the arrival: the clock is off, not a backlog.
				g.Clock, g.ClockOffMin = "off", int(-lag/time.Minute)
			case !a.ClockSynced:
				g.Clock = "unsynced"
			case -lag > clockAheadAfter:
				g.Clock = "ahead"
			case lag > backlogAfter:
				g.BacklogMin = int(lag / time.Minute)
			}
		}
		g.Unsynced = a.Unsynced
		if g.Clock == "" && a.Unsynced > 0 {
			g.Clock = "unsynced"
		}
		out = append(out, g)
	}
	return out, nil
}

// warnings are each device's latest health condition that is not up or
// ok (of the last 24 h), and each device's latest calibration record (of
// the last 14 days) whose offset or spread is large.
func (s *Server) warnings(ctx context.Context, boxes []store.Box, now time.Time) ([]Warning, error) {
	evs, err := s.opts.Store.HealthEvents(ctx, utc(now.Add(-chartDays*24*time.Hour)))
	if err != nil {
		return nil, fmt.Errorf("screen: health: %w", err)
	}
	dayAgo := utc(now.Add(-24 * time.Hour))
	type key struct{ box, kind, component, device string }
	latest := map[key]*Warning{}
	var order []key
	for _, e := range evs {
		var h struct {
			Component, Device, State, Reason string
			OffsetC                          float64 `json:"offset_c"`
			SpreadC                          float64 `json:"spread_c"`
		}
		if err := json.Unmarshal(e.Body, &h); err != nil {
			return nil, fmt.Errorf("screen: health event %s: %w", e.ID, err)
		}
		if e.Kind == "health" && e.CountedAt < dayAgo {
			continue
		}
		k := key{e.Box, e.Kind, h.Component, h.Device}
		if latest[k] == nil {
			order = append(order, k)
		}
		latest[k] = &Warning{School: e.Site.School, Gate: e.Site.Gate, Kind: e.Kind, Component: h.Component, Device: h.Device,
			State: h.State, Reason: h.Reason, OffsetC: h.OffsetC, SpreadC: h.SpreadC, At: s.local(e.CapturedAt)}
	}
	out := []Warning{}
	for _, k := range order {
		w := latest[k]
		switch {
		case w.Kind == "health" && w.State != "up" && w.State != "ok":
		case w.Kind == "calibration" && (math.Abs(w.OffsetC) >= calibrationOffset || w.SpreadC > calibrationSpread):
		default:
			continue
		}
		out = append(out, *w)
	}
	return out, nil
}

// local is a stored time in district time, for a person ("" stays "").
func (s *Server) local(t string) string {
	at, err := time.Parse(store.TimeFormat, t)
	if err != nil {
		return t
	}
	return at.In(s.opts.Schedule.Loc).Format("01-02 15:04")
}
