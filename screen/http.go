package screen

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

//go:embed assets
var assetFS embed.FS

var pageTemplate = template.Must(template.ParseFS(assetFS, "assets/index.html"))

// contentSecurityPolicy allows nothing but the box itself and no inline
// script or style: the page's code lives in /assets/app.js.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// readTimeout bounds reading a request; event streams lift it.
const readTimeout = 10 * time.Second

// maxBody bounds every request body; the largest is an outcome note.
const maxBody = 4 << 10

// maxOutcome bounds the outcome text in runes.
const maxOutcome = 500

var ticketPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Handler serves the page, its assets, the SSE stream, the API and
// /healthz. /metrics has a listener of its own (internal/metrics).
func (s *Screen) Handler() http.Handler {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets") // the embedded directory exists
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /{$}", s.servePage)
	// Browsers ask for /favicon.ico whatever the page says.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "favicon.svg")
	})
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("GET /api/state", s.serveState)
	mux.HandleFunc("GET /api/i18n", s.serveI18n)
	mux.HandleFunc("GET /api/session", s.serveSession)
	mux.HandleFunc("POST /api/login", s.serveLogin)
	mux.HandleFunc("POST /api/logout", s.requireRole(false, func(w http.ResponseWriter, r *http.Request, token, _ string) { s.serveLogout(w, r, token) }))
	mux.HandleFunc("GET /api/cases", s.serveCases)
	mux.HandleFunc("GET /api/cases/{ticket}", s.serveCase)
	mux.HandleFunc("POST /api/cases/{ticket}/recheck", s.requireDoctor(s.caseAction("recheck", s.recheck)))
	mux.HandleFunc("POST /api/cases/{ticket}/refer", s.requireDoctor(s.caseAction("refer", s.refer)))
	mux.HandleFunc("POST /api/cases/{ticket}/close", s.requireDoctor(s.caseAction("close", s.closeCase)))
	mux.HandleFunc("POST /api/cases/{ticket}/select", s.requireDoctor(s.caseAction("select", s.selectCase)))
	mux.HandleFunc("POST /api/drill", s.requireDoctor(s.serveDrill))
	mux.HandleFunc("POST /api/visitors", s.requireDoctor(s.serveRegisterVisitor))
	mux.HandleFunc("GET /api/visitors", s.requireSession(true, s.serveVisitors))
	mux.HandleFunc("GET /api/absentees", s.requireSession(false, s.serveAbsentees))
	mux.HandleFunc("POST /api/absences", s.requireRole(false, s.serveRecordAbsence))
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	// Besides the CSRF token, refuse state-changing requests a browser
	// marks as coming from another site (Sec-Fetch-Site, Origin).
	return securityHeaders(s.checkHost(http.NewCrossOriginProtection().Handler(mux)))
}

// checkHost refuses a request whose Host header is not an IP literal,
// localhost or one of Opts.Hosts (see there).
func (s *Screen) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			s.log.Warn().Str("host", r.Host).Str("remote", r.RemoteAddr).Str("path", r.URL.Path).Msg("request for a foreign host name refused")
			writeError(w, http.StatusMisdirectedRequest, "unknown_host")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Screen) hostAllowed(hostport string) bool {
	if hostport == "" { // HTTP/1.0 without Host: no browser sends that
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host == "localhost" || s.hosts[host]
}

// Serve serves Handler on ln until ctx is done, then shuts down gracefully:
// SSE streams end at once, other requests get a few seconds to finish.
func (s *Screen) Serve(ctx context.Context, ln net.Listener) error {
	// Every request's context ends with the shutdown: Shutdown itself
	// waits for handlers and would wait for the event streams forever.
	base, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       readTimeout,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("screen serving")
	select {
	case err := <-errc:
		return fmt.Errorf("screen: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	stopStreams()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("screen: shutdown %s: %w", ln.Addr(), err)
	}
	return nil
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			h.Set("Cache-Control", "no-cache")
		} else {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

type pageData struct {
	Lang          string
	OtherLang     string
	T             map[string]string
	DoctorEnabled bool
	// DrillLanes, when not empty, shows the drill form for these lanes.
	DrillLanes      []pipeline.Lane
	VisitorsEnabled bool
	AbsencesEnabled bool
}

func (s *Screen) servePage(w http.ResponseWriter, r *http.Request) {
	lang := s.pickLang(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := pageData{Lang: lang, OtherLang: messages[lang]["lang_other"], T: messages[lang], DoctorEnabled: s.auth.any(),
		VisitorsEnabled: s.o.Visitors != nil, AbsencesEnabled: s.o.Absences != nil}
	if s.o.Driller != nil {
		data.DrillLanes = s.drillLanes()
	}
	err := pageTemplate.Execute(w, data)
	if err != nil {
		s.log.Error().Err(err).Msg("render page")
	}
}

func (s *Screen) serveState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v := s.stateView()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func (s *Screen) serveI18n(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, messages[s.pickLang(r)])
}

func (s *Screen) serveCases(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v := s.casesView()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func (s *Screen) serveCase(w http.ResponseWriter, r *http.Request) {
	ticket := r.PathValue("ticket")
	if !ticketPattern.MatchString(ticket) {
		writeError(w, http.StatusBadRequest, "bad_ticket")
		return
	}
	var c event.Case
	var ok bool
	if s.o.Desk != nil {
		c, ok = s.o.Desk.Get(ticket)
	}
	if !ok {
		s.mu.Lock()
		c, ok = s.cases[ticket]
		s.mu.Unlock()
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no_such_case")
		return
	}
	// The full record only for the doctor's session.
	if _, _, role, ok := s.auth.session(r, s.now()); !ok || role != roleDoctor {
		c = publicCase(c)
	}
	s.mu.Lock()
	v := s.caseView(c)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

type sessionInfo struct {
	Enabled  bool   `json:"enabled"`
	LoggedIn bool   `json:"logged_in"`
	Actor    string `json:"actor,omitempty"`
	// Role is doctor or teacher.
	Role string `json:"role,omitempty"`
	CSRF string `json:"csrf,omitempty"`
}

// actor is the name a role's actions are recorded under.
func (s *Screen) actor(role string) string {
	if role == roleTeacher {
		return roleTeacher
	}
	return s.o.Actor
}

// serveSession lets a reloaded page find its session's CSRF token; the
// SameSite=Strict cookie keeps other sites from reading it.
func (s *Screen) serveSession(w http.ResponseWriter, r *http.Request) {
	info := sessionInfo{Enabled: s.auth.any()}
	if _, csrf, role, ok := s.auth.session(r, s.now()); ok {
		info.LoggedIn, info.Actor, info.Role, info.CSRF = true, s.actor(role), role, csrf
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Screen) serveLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PIN string `json:"pin"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	res, token, csrf, role, retry := s.auth.login(clientHost(r), req.PIN, s.now())
	log := s.log.With().Str("actor", s.actor(role)).Str("remote", r.RemoteAddr).Logger()
	switch res {
	case loginDisabled:
		log.Warn().Msg("doctor login refused: no PIN configured")
		writeError(w, http.StatusForbidden, "doctor_disabled")
	case loginLocked:
		log.Warn().Dur("retry_after", retry).Msg("doctor login refused: locked out")
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "locked")
	case loginWrong:
		log.Warn().Msg("doctor login refused: wrong PIN")
		writeError(w, http.StatusUnauthorized, "wrong_pin")
	case loginOK:
		log.Info().Msg(role + " logged in")
		http.SetCookie(w, sessionCookieFor(r, token, 0))
		writeJSON(w, http.StatusOK, sessionInfo{Enabled: true, LoggedIn: true, Actor: s.actor(role), Role: role, CSRF: csrf})
	}
}

func (s *Screen) serveLogout(w http.ResponseWriter, r *http.Request, token string) {
	s.auth.logout(token)
	http.SetCookie(w, sessionCookieFor(r, "", -1))
	s.log.Info().Str("remote", r.RemoteAddr).Msg("logged out")
	writeJSON(w, http.StatusOK, sessionInfo{Enabled: s.auth.any()})
}

// requireDoctor admits a request with a live doctor's session (else 401,
// 403 for a teacher's) and its CSRF token (else 403).
func (s *Screen) requireDoctor(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return s.requireRole(true, func(w http.ResponseWriter, r *http.Request, token, _ string) { next(w, r, token) })
}

// requireRole admits a request with a live session (a doctor's only when
// doctorOnly) and its CSRF token; next gets the session's token and role.
func (s *Screen) requireRole(doctorOnly bool, next func(w http.ResponseWriter, r *http.Request, token, role string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.any() || (doctorOnly && !s.auth.enabled) {
			writeError(w, http.StatusForbidden, "doctor_disabled")
			return
		}
		what := "action"
		if doctorOnly {
			what = "doctor action"
		}
		token, csrf, role, ok := s.auth.session(r, s.now())
		if !ok {
			s.log.Warn().Str("path", r.URL.Path).Str("remote", r.RemoteAddr).Msg(what + " refused: no session")
			writeError(w, http.StatusUnauthorized, "login_required")
			return
		}
		if !csrfOK(r, csrf) {
			s.log.Warn().Str("path", r.URL.Path).Str("remote", r.RemoteAddr).Msg(what + " refused: bad CSRF token")
			writeError(w, http.StatusForbidden, "bad_csrf_token")
			return
		}
		if doctorOnly && role != roleDoctor {
			s.log.Warn().Str("path", r.URL.Path).Str("remote", r.RemoteAddr).Str("role", role).Msg("doctor action refused: a teacher's session")
			writeError(w, http.StatusForbidden, "doctor_only")
			return
		}
		next(w, r, token, role)
	}
}

// errBadInput marks a request the doctor must correct (400), as opposed to a
// transition the desk refused (409).
var errBadInput = errors.New("bad input")

func (s *Screen) caseAction(name string, do func(r *http.Request, ticket string) (event.Case, error)) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, _ string) {
		ticket := r.PathValue("ticket")
		log := s.log.With().Str("actor", s.o.Actor).Str("action", name).Str("ticket", ticket).Logger()
		if !ticketPattern.MatchString(ticket) {
			writeError(w, http.StatusBadRequest, "bad_ticket")
			return
		}
		if _, ok := s.o.Desk.Get(ticket); !ok {
			log.Warn().Msg("doctor action on unknown case")
			writeError(w, http.StatusNotFound, "no_such_case")
			return
		}
		// A final state forgets the drill mark; the answer still shows it.
		s.mu.Lock()
		drill := s.drillTickets[ticket]
		s.mu.Unlock()
		c, err := do(r, ticket)
		switch {
		case errors.Is(err, errBadInput):
			log.Warn().Err(err).Msg("doctor action refused")
			writeError(w, http.StatusBadRequest, err.Error())
			return
		case err != nil:
			log.Warn().Err(err).Msg("doctor action refused by the case desk")
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		log.Info().Str("state", c.State).Str("disposition", c.Disposition).Msg("doctor action")
		s.mu.Lock()
		s.applyCase(c)
		v := s.caseView(c)
		s.mu.Unlock()
		v.Drill = v.Drill || drill
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Screen) recheck(r *http.Request, ticket string) (event.Case, error) {
	var req struct {
		TempC *float64 `json:"temp_c"`
	}
	if err := decodeBody(r, &req); err != nil {
		return event.Case{}, err
	}
	if req.TempC == nil || !(*req.TempC >= 30 && *req.TempC <= 45) {
		return event.Case{}, fmt.Errorf("%w: temp_c must be 30.0–45.0", errBadInput)
	}
	return s.o.Desk.Recheck(ticket, roundTenth(*req.TempC), s.o.Actor)
}

func (s *Screen) refer(r *http.Request, ticket string) (event.Case, error) {
	var req struct {
		ContactHistory *bool `json:"contact_history"`
	}
	if err := decodeBody(r, &req); err != nil {
		return event.Case{}, err
	}
	if req.ContactHistory == nil {
		return event.Case{}, fmt.Errorf("%w: contact_history (true or false) is required", errBadInput)
	}
	return s.o.Desk.Refer(ticket, *req.ContactHistory, s.o.Actor)
}

func (s *Screen) closeCase(r *http.Request, ticket string) (event.Case, error) {
	var req struct {
		Outcome string `json:"outcome"`
	}
	if err := decodeBody(r, &req); err != nil {
		return event.Case{}, err
	}
	if n := len([]rune(req.Outcome)); n == 0 || n > maxOutcome {
		return event.Case{}, fmt.Errorf("%w: outcome must be 1–%d characters", errBadInput, maxOutcome)
	}
	return s.o.Desk.Close(ticket, req.Outcome, s.o.Actor)
}

// selectCase makes the case the one a re-check lane's next reading
// resolves, when the desk supports it; otherwise selecting only changes the
// form.
func (s *Screen) selectCase(_ *http.Request, ticket string) (event.Case, error) {
	if sel, ok := s.o.Desk.(Selector); ok {
		if err := sel.Select(ticket); err != nil {
			return event.Case{}, err
		}
	}
	c, _ := s.o.Desk.Get(ticket)
	if s.o.FlagHold <= 0 {
		// The doctor has the person at the desk: their lane is free.
		s.mu.Lock()
		if i, ok := s.laneIndex[c.Lane]; ok && s.lanes[i].release(ticket) {
			l := s.lanes[i]
			s.broadcast("lane", func() any { return l.view(s.o.IdleAfter, s.o.FlagHold) })
		}
		s.mu.Unlock()
	}
	return c, nil
}

type healthz struct {
	OK       bool     `json:"ok"`
	Degraded []string `json:"degraded"`
	Down     []string `json:"down"`
}

// serveHealthz answers 503 when a critical component is down; anything else
// not up is listed as degraded.
func (s *Screen) serveHealthz(w http.ResponseWriter, r *http.Request) {
	hz := healthz{OK: true, Degraded: []string{}, Down: []string{}}
	s.mu.Lock()
	for _, c := range sortedStates(s.components) {
		switch {
		case c.State == event.HealthDown && slices.Contains(s.o.Critical, c.Name):
			hz.OK = false
			hz.Down = append(hz.Down, c.Name)
		case c.State != event.HealthUp && c.State != event.HealthOK:
			hz.Degraded = append(hz.Degraded, c.Name)
		}
	}
	for _, d := range sortedStates(s.devices) {
		if d.State != event.HealthUp && d.State != event.HealthOK && d.State != "unknown" {
			hz.Degraded = append(hz.Degraded, "device:"+d.Name)
		}
	}
	s.mu.Unlock()
	code := http.StatusOK
	if !hz.OK {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, hz)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeBody(r, v); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// decodeBody reads a small JSON body. Requiring the JSON media type means a
// cross-site form cannot post here without a CORS preflight, which fails.
func decodeBody(r *http.Request, v any) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return fmt.Errorf("%w: want Content-Type application/json", errBadInput)
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
