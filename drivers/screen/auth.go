package screen

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

const (
	sessionCookie = "gatescreen_session"
	csrfHeader    = "X-CSRF-Token"
	// maxSessions bounds server-side sessions; the oldest is ended first.
	maxSessions = 16
)

// auth guards the doctor's actions: PIN check with lock-out, sessions and
// their CSRF tokens.
type auth struct {
	enabled bool
	// pinHash is compared instead of the PIN so the comparison takes the
	// same time whatever the length of the guess.
	pinHash     [sha256.Size]byte
	maxAttempts int
	lockout     time.Duration
	idle        time.Duration

	mu          sync.Mutex
	failures    int
	lockedUntil time.Time
	sessions    map[string]*session
}

type session struct {
	csrf    string
	created time.Time
	expires time.Time
}

func newAuth(pin []byte, haveDesk bool, maxAttempts int, lockout, idle time.Duration) *auth {
	a := &auth{
		enabled:     len(pin) > 0 && haveDesk,
		maxAttempts: maxAttempts,
		lockout:     lockout,
		idle:        idle,
		sessions:    make(map[string]*session),
	}
	if a.enabled {
		a.pinHash = sha256.Sum256(pin)
	}
	return a
}

type loginResult int

const (
	loginOK loginResult = iota
	loginWrong
	loginLocked
	loginDisabled
)

// login checks a PIN. On success it returns a new session token and its CSRF
// token; retryAfter is set when logins are locked.
func (a *auth) login(pin string, now time.Time) (res loginResult, token, csrf string, retryAfter time.Duration) {
	if !a.enabled {
		return loginDisabled, "", "", 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Before(a.lockedUntil) {
		return loginLocked, "", "", a.lockedUntil.Sub(now)
	}
	guess := sha256.Sum256([]byte(pin))
	if subtle.ConstantTimeCompare(guess[:], a.pinHash[:]) != 1 {
		a.failures++
		if a.failures >= a.maxAttempts {
			a.failures = 0
			a.lockedUntil = now.Add(a.lockout)
			return loginLocked, "", "", a.lockout
		}
		return loginWrong, "", "", 0
	}
	a.failures = 0
	a.prune(now)
	token, csrf = randomToken(), randomToken()
	a.sessions[token] = &session{csrf: csrf, created: now, expires: now.Add(a.idle)}
	return loginOK, token, csrf, 0
}

// prune ends expired sessions and, past maxSessions, the oldest. Call with
// a.mu held.
func (a *auth) prune(now time.Time) {
	var oldest string
	for tok, s := range a.sessions {
		if !now.Before(s.expires) {
			delete(a.sessions, tok)
			continue
		}
		if oldest == "" || s.created.Before(a.sessions[oldest].created) {
			oldest = tok
		}
	}
	if len(a.sessions) >= maxSessions {
		delete(a.sessions, oldest)
	}
}

// session returns the CSRF token of the request's live session and extends
// it; ok is false without one.
func (a *auth) session(r *http.Request, now time.Time) (token, csrf string, ok bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return "", "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, found := a.sessions[ck.Value]
	if !found {
		return "", "", false
	}
	if !now.Before(s.expires) {
		delete(a.sessions, ck.Value)
		return "", "", false
	}
	s.expires = now.Add(a.idle)
	return ck.Value, s.csrf, true
}

func (a *auth) logout(token string) {
	a.mu.Lock()
	delete(a.sessions, token)
	a.mu.Unlock()
}

// csrfOK compares the request's X-CSRF-Token header with the session's
// token in constant time.
func csrfOK(r *http.Request, want string) bool {
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionCookieFor(r *http.Request, token string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}
