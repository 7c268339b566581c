package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

// gatedStore holds every account look-up until n have started (or a
// second has passed): the logins it serves are all in flight at once.
type gatedStore struct {
	Store
	n       int32
	started atomic.Int32
	all     chan struct{}
	once    sync.Once
}

func (g *gatedStore) UserByName(ctx context.Context, name string) (store.User, bool, error) {
	if g.started.Add(1) == g.n {
		g.once.Do(func() { close(g.all) })
	}
	select {
	case <-g.all:
	case <-time.After(time.Second):
	}
	return g.Store.UserByName(ctx, name)
}

// Logins sent at once cannot try more passwords than the limit allows:
// each attempt counts against the limit before its password is checked.
func TestConcurrentLoginsRateLimited(t *testing.T) {
	f := newFixture(t)
	const tries = 20
	gated := &gatedStore{Store: f.st, n: tries, all: make(chan struct{})}
	f.srv.opts.Store = gated
	c := f.start(t)
	token := c.csrf("/login")
	u, _ := url.Parse(c.base)
	var loginCk string
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == loginCookie {
			loginCk = ck.Value
		}
	}
	form := url.Values{"csrf": {token}, "name": {bureauName}, "password": {"wrong"}}.Encode()
	codes := make(chan int, tries)
	var wg sync.WaitGroup
	for range tries {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", c.base+"/login", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: loginCookie, Value: loginCk})
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	checked := 0
	for code := range codes {
		if code == http.StatusUnauthorized {
			checked++
		} else if code != http.StatusTooManyRequests {
			t.Errorf("a concurrent login: %d", code)
		}
	}
	if checked > f.srv.opts.MaxFailures {
		t.Errorf("%d of %d concurrent wrong logins had their password checked; the limit is %d", checked, tries, f.srv.opts.MaxFailures)
	}
	// The limit holds after the burst too.
	if code, _ := c.login(bureauName, bureauPassword); code != http.StatusTooManyRequests {
		t.Errorf("right password after the burst: %d, want 429", code)
	}
}

// A name tried once and never again is forgotten once its failure is
// older than the window: guessed names do not pile up in memory.
func TestLimiterForgetsOldKeys(t *testing.T) {
	l := limiter{max: 5, window: 15 * time.Minute, failures: map[string][]time.Time{}}
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for i := range 1000 {
		l.try("guess-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), t0)
	}
	l.try("late", t0.Add(16*time.Minute))
	if n := len(l.failures); n != 1 {
		t.Errorf("%d keys kept 16 min after 1000 single tries, want only the newest", n)
	}
}

// A login form is a few hundred bytes: a huge one is refused before its
// name is kept by the limiter or written to the log.
func TestHugeLoginFormRefused(t *testing.T) {
	f := newFixture(t)
	c := f.start(t)
	huge := strings.Repeat("n", 1<<20)
	resp, _ := c.do("POST", "/login", url.Values{"csrf": {c.csrf("/login")}, "name": {huge}, "password": {"x"}}, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 1 MiB name: %s, want 413", resp.Status)
	}
	f.srv.byName.mu.Lock()
	defer f.srv.byName.mu.Unlock()
	for key := range f.srv.byName.failures {
		if len(key) > 1024 {
			t.Errorf("the limiter keeps a %d-byte name", len(key))
		}
	}
}
