package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"
)

// session is a logged-in account. The cookie holds only its random token.
type session struct {
	user, role string
	hash       string // the account's password hash at login: a new password ends the session
	csrf       string // sent back with every POST of the session
	expires    time.Time
}

// sessions are kept in memory: a restarted serve logs everyone out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(user, role, hash string, now time.Time) (token string, ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, x := range s.m { // few accounts: a sweep per login is cheap
		if !now.Before(x.expires) {
			delete(s.m, t)
		}
	}
	token = newToken()
	ss = &session{user: user, role: role, hash: hash, csrf: newToken(), expires: now.Add(s.ttl)}
	s.m[token] = ss
	return token, ss
}

func (s *sessions) get(token string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[token]
	if ss == nil || !now.Before(ss.expires) {
		delete(s.m, token)
		return nil
	}
	return ss
}

func (s *sessions) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, token)
}

// limiter refuses a key (an account name, a client address) that failed
// max times within window, until the oldest of those failures is older
// than window.
type limiter struct {
	mu       sync.Mutex
	max      int
	window   time.Duration
	failures map[string][]time.Time
	// swept is when keys whose failures are all old were last dropped.
	swept time.Time
}

// sweep drops, once a window, the keys whose every failure is older than
// the window: a name guessed once is never looked at again.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < l.window {
		return
	}
	l.swept = now
	for key, fs := range l.failures {
		if now.Sub(fs[len(fs)-1]) >= l.window {
			delete(l.failures, key)
		}
	}
}

func (l *limiter) recent(key string, now time.Time) []time.Time {
	fs := l.failures[key]
	for len(fs) > 0 && now.Sub(fs[0]) >= l.window {
		fs = fs[1:]
	}
	if len(fs) == 0 {
		delete(l.failures, key)
		return nil
	}
	l.failures[key] = fs
	return fs
}

// try counts an attempt of key at now as a failure before it is made,
// unless key is refused (false): logins in flight at once cannot try more
// than max between them. A success takes its attempt back (forgive).
func (l *limiter) try(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	fs := l.recent(key, now)
	if len(fs) >= l.max {
		return false
	}
	l.failures[key] = append(fs, now)
	return true
}

// forgive takes back one attempt of key that try counted at at.
func (l *limiter) forgive(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.failures[key]
	for i := len(fs) - 1; i >= 0; i-- {
		if fs[i].Equal(at) {
			fs = append(fs[:i:i], fs[i+1:]...)
			break
		}
	}
	if len(fs) == 0 {
		delete(l.failures, key)
		return
	}
	l.failures[key] = fs
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

// clientAddr is the host of the request's peer (no proxy header is
// trusted: behind a proxy, every client shares the proxy's limit).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
