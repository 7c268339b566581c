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
	// maxGuessers bounds the clients whose wrong PINs are remembered; the
	// one seen least recently is forgotten first.
	maxGuessers = 1024
	// maxLockout caps a client's lock-out, which doubles with every lock.
	maxLockout = 24 * time.Hour
)

// auth guards the doctor's and the class teachers' actions: PIN check with
// a lock-out per client, sessions with their role and CSRF tokens. The lock-out is per client (IP address)
// so that someone guessing cannot lock the doctor at the desk out; each
// further lock of the same client lasts twice as long.
type auth struct {
	enabled bool // the doctor's PIN and desk
	teacher bool // the class teachers' PIN
	// pinHash is compared instead of the PIN so the comparison takes the
	// same time whatever the length of the guess.
	pinHash     [sha256.Size]byte
	teacherHash [sha256.Size]byte
	maxAttempts int
	lockout     time.Duration
	idle        time.Duration

	mu       sync.Mutex
	guessers map[string]*guesser
	sessions map[string]*session
}

// guesser is one client's record of wrong PINs.
type guesser struct {
	failures    int
	locks       int // how often this client was locked out
	lockedUntil time.Time
	seen        time.Time
}

// Session roles: the doctor does everything; a class teacher sees the
// absentees and records why they are absent.
const (
	roleDoctor  = "doctor"
	roleTeacher = "teacher"
)

type session struct {
	role    string
	csrf    string
	created time.Time
	expires time.Time
}

func newAuth(pin, teacherPIN []byte, haveDesk bool, maxAttempts int, lockout, idle time.Duration) *auth {
	a := &auth{
		enabled:     len(pin) > 0 && haveDesk,
		teacher:     len(teacherPIN) > 0,
		maxAttempts: maxAttempts,
		lockout:     lockout,
		idle:        idle,
		sessions:    make(map[string]*session),
		guessers:    make(map[string]*guesser),
	}
	if a.enabled {
		a.pinHash = sha256.Sum256(pin)
	}
	if a.teacher {
		a.teacherHash = sha256.Sum256(teacherPIN)
	}
	return a
}

// any reports whether anyone can log in.
func (a *auth) any() bool { return a.enabled || a.teacher }

type loginResult int

const (
	loginOK loginResult = iota
	loginWrong
	loginLocked
	loginDisabled
)

// login checks a PIN sent by client (its IP address). On success it
// returns a new session token, its CSRF token and its role; retryAfter is
// set when the client is locked out.
func (a *auth) login(client, pin string, now time.Time) (res loginResult, token, csrf, role string, retryAfter time.Duration) {
	if !a.any() {
		return loginDisabled, "", "", "", 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.guesser(client, now)
	if now.Before(g.lockedUntil) {
		return loginLocked, "", "", "", g.lockedUntil.Sub(now)
	}
	guess := sha256.Sum256([]byte(pin))
	// Both are compared, whatever the first says: the time tells nothing.
	doctor := subtle.ConstantTimeCompare(guess[:], a.pinHash[:]) == 1 && a.enabled
	teacher := subtle.ConstantTimeCompare(guess[:], a.teacherHash[:]) == 1 && a.teacher
	switch {
	case doctor:
		role = roleDoctor
	case teacher:
		role = roleTeacher
	default:
		g.failures++
		if g.failures >= a.maxAttempts {
			d := min(a.lockout<<min(g.locks, 16), maxLockout)
			g.failures, g.locks = 0, g.locks+1
			g.lockedUntil = now.Add(d)
			return loginLocked, "", "", "", d
		}
		return loginWrong, "", "", "", 0
	}
	delete(a.guessers, client)
	a.prune(now)
	token, csrf = randomToken(), randomToken()
	a.sessions[token] = &session{role: role, csrf: csrf, created: now, expires: now.Add(a.idle)}
	return loginOK, token, csrf, role, 0
}

// guesser returns client's record, forgetting the least recently seen one
// when too many are kept. Call with a.mu held.
func (a *auth) guesser(client string, now time.Time) *guesser {
	g, ok := a.guessers[client]
	if !ok {
		if len(a.guessers) >= maxGuessers {
			var oldest string
			for c, o := range a.guessers {
				if oldest == "" || o.seen.Before(a.guessers[oldest].seen) {
					oldest = c
				}
			}
			delete(a.guessers, oldest)
		}
		g = &guesser{}
		a.guessers[client] = g
	}
	g.seen = now
	return g
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

// session returns the request's live session (its token, CSRF token and
// role) and extends it; ok is false without one.
func (a *auth) session(r *http.Request, now time.Time) (token, csrf, role string, ok bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return "", "", "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, found := a.sessions[ck.Value]
	if !found {
		return "", "", "", false
	}
	if !now.Before(s.expires) {
		delete(a.sessions, ck.Value)
		return "", "", "", false
	}
	s.expires = now.Add(a.idle)
	return ck.Value, s.csrf, s.role, true
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
