package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.ParseFS(assets, "assets/*.html"))

// Opts configures a Server; zero fields take the documented defaults.
type Opts struct {
	Store    Store
	Schedule schedule.Schedule
	// SessionTTL is how long a login lasts; default 12 h.
	SessionTTL time.Duration
	// MaxFailures failed logins of one account, or 4× as many from one
	// address, within FailureWindow refuse further tries until the oldest
	// is older than the window; default 5 in 15 min.
	MaxFailures   int
	FailureWindow time.Duration
	// CertFile and KeyFile, when both set, serve HTTPS (cookies are then
	// Secure).
	CertFile, KeyFile string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log is the server's logger; zero is no logging.
	Log zerolog.Logger
}

// Server is the district screen.
type Server struct {
	opts     Opts
	sessions sessions
	byName   limiter
	byAddr   limiter
	// verify bounds concurrent argon2id checks (64 MiB each).
	verify chan struct{}
	// dummy is checked for an unknown name, so that it takes as long.
	dummy string
	mux   *http.ServeMux
}

// New checks opts and makes a server.
func New(opts Opts) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("web: no store")
	}
	if opts.Schedule.Loc == nil {
		return nil, errors.New("web: no schedule")
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("web: a TLS certificate needs its key, and a key its certificate")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dummy, err := HashPassword("no such user")
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		sessions: sessions{m: map[string]*session{}, ttl: opts.SessionTTL},
		byName:   limiter{max: opts.MaxFailures, window: opts.FailureWindow, failures: map[string][]time.Time{}},
		byAddr:   limiter{max: 4 * opts.MaxFailures, window: opts.FailureWindow, failures: map[string][]time.Time{}},
		verify:   make(chan struct{}, 2),
		dummy:    dummy,
		mux:      http.NewServeMux(),
	}
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.HandleFunc("GET /api/v1/screen", s.screenJSON)
	s.mux.HandleFunc("GET /{$}", s.index)
	return s, nil
}

// Handler is the screen's HTTP handler.
func (s *Server) Handler() http.Handler { return securityHeaders(s.mux) }

// securityHeaders: nothing from elsewhere, no framing, no sniffing.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// Serve serves on ln until ctx is done, then shuts down.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	done := make(chan error, 1)
	go func() {
		if s.opts.CertFile != "" {
			done <- srv.ServeTLS(ln, s.opts.CertFile, s.opts.KeyFile)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("web: shutting down: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}

const (
	sessionCookie = "gs_session"
	loginCookie   = "gs_login" // the login form's CSRF token (double submit)
)

func (s *Server) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.CertFile != "" || r.TLS != nil}
}

// current is the request's session, or nil.
func (s *Server) current(r *http.Request) (*session, string) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, ""
	}
	ss := s.sessions.get(c.Value, s.opts.Now())
	if ss == nil {
		return nil, c.Value
	}
	// Accounts are changed by another process (gatescreen-district user):
	// a removed account, or one with a new password or role, is logged out.
	u, ok, err := s.opts.Store.UserByName(r.Context(), ss.user)
	if err != nil { // the database is away: the page's own reads fail too
		s.opts.Log.Warn().Err(err).Str("user", ss.user).Msg("session: looking up the account")
		return ss, c.Value
	}
	if !ok || u.PasswordHash != ss.hash || u.Role != ss.role {
		s.sessions.end(c.Value)
		s.opts.Log.Info().Str("user", ss.user).Msg("session ended: the account was removed or changed")
		return nil, c.Value
	}
	return ss, c.Value
}

type loginView struct {
	Lang, Other, CSRF, Error string
	T                        map[string]string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, pickLang(w, r), http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, lang string, code int, msg string) {
	token := newToken()
	http.SetCookie(w, s.cookie(r, loginCookie, token, 3600))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	v := loginView{Lang: lang, Other: other(lang), CSRF: token, T: dict(lang)}
	if msg != "" {
		v.Error = text(lang, msg)
	}
	if err := pages.ExecuteTemplate(w, "login.html", v); err != nil {
		s.opts.Log.Error().Err(err).Msg("login page")
	}
}

func other(lang string) string {
	if lang == langEN {
		return langZH
	}
	return langEN
}

// maxLoginForm bounds the login form's body: a name, a password and a
// token are a few hundred bytes, and the name is kept by the limiter and
// logged.
const maxLoginForm = 4 << 10

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	lang := pickLang(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		code, tooBig := http.StatusBadRequest, (*http.MaxBytesError)(nil)
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		s.renderLogin(w, r, lang, code, "login_expired")
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(c.Value, r.PostFormValue("csrf")) {
		s.renderLogin(w, r, lang, http.StatusForbidden, "login_expired")
		return
	}
	now := s.opts.Now()
	name, addr := strings.TrimSpace(r.PostFormValue("name")), clientAddr(r)
	// Each attempt counts as a failure until it succeeds, so that
	// attempts in flight at once are limited too.
	if !s.byName.try(name, now) {
		s.limited(w, r, lang, name, addr)
		return
	}
	if !s.byAddr.try(addr, now) {
		s.byName.forgive(name, now)
		s.limited(w, r, lang, name, addr)
		return
	}
	u, ok, err := s.opts.Store.UserByName(r.Context(), name)
	if err != nil {
		s.byName.forgive(name, now)
		s.byAddr.forgive(addr, now)
		s.fail(w, err)
		return
	}
	hash := s.dummy
	if ok {
		hash = u.PasswordHash
	}
	match, err := s.checkPassword(r.Context(), hash, r.PostFormValue("password"))
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) { // gone before its check: not an attempt
		s.byName.forgive(name, now)
		s.byAddr.forgive(addr, now)
		return
	}
	if err != nil {
		s.opts.Log.Error().Err(err).Str("user", name).Msg("login: stored hash")
	}
	if !ok || !match {
		s.opts.Log.Info().Str("user", name).Str("addr", addr).Msg("login failed")
		s.renderLogin(w, r, lang, http.StatusUnauthorized, "login_wrong")
		return
	}
	s.byName.reset(name)
	s.byAddr.forgive(addr, now)
	token, _ := s.sessions.create(u.Name, u.Role, u.PasswordHash, now)
	http.SetCookie(w, s.cookie(r, sessionCookie, token, int(s.opts.SessionTTL/time.Second)))
	http.SetCookie(w, s.cookie(r, loginCookie, "", -1))
	s.opts.Log.Info().Str("user", u.Name).Str("role", u.Role).Str("addr", addr).Msg("logged in")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// checkPassword is CheckPassword in one of the verify slots; the wait for
// a slot ends with ctx.
func (s *Server) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	select {
	case s.verify <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.verify }() // even if argon2 panics
	return CheckPassword(hash, password)
}

func (s *Server) limited(w http.ResponseWriter, r *http.Request, lang, name, addr string) {
	s.opts.Log.Warn().Str("user", name).Str("addr", addr).Msg("login refused: too many failures")
	s.renderLogin(w, r, lang, http.StatusTooManyRequests, "login_limited")
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ss, token := s.current(r)
	if ss == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if !sameToken(ss.csrf, r.PostFormValue("csrf")) && !sameToken(ss.csrf, r.Header.Get("X-CSRF-Token")) {
		http.Error(w, "CSRF token missing or wrong", http.StatusForbidden)
		return
	}
	s.sessions.end(token)
	http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type indexView struct {
	Lang, Other, CSRF, User string
	Bureau                  bool
	T                       map[string]string
	Dict                    map[string]string // for the script
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	lang := pickLang(w, r)
	ss, _ := s.current(r)
	if ss == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	d := dict(lang)
	v := indexView{Lang: lang, Other: other(lang), CSRF: ss.csrf, User: ss.user, Bureau: ss.role == store.RoleBureau, T: d, Dict: d}
	if err := pages.ExecuteTemplate(w, "index.html", v); err != nil {
		s.opts.Log.Error().Err(err).Msg("index page")
	}
}

func (s *Server) screenJSON(w http.ResponseWriter, r *http.Request) {
	ss, _ := s.current(r)
	if ss == nil {
		http.Error(w, "login required", http.StatusUnauthorized)
		return
	}
	lang := pickLang(w, r)
	sc, err := s.build(r.Context(), ss.user, ss.role, lang, s.opts.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(sc); err != nil {
		s.opts.Log.Debug().Err(err).Msg("screen: writing")
	}
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.opts.Log.Error().Err(err).Msg("district screen")
	http.Error(w, "the database failed; see the server's log", http.StatusInternalServerError)
}
