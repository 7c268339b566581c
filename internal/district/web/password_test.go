package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

func TestCheckPasswordRoundTrip(t *testing.T) {
	h, err := hashPassword("correct horse", testMemory)
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{"correct horse": true, "wrong horse": false} {
		if got, err := CheckPassword(h, pw); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", pw, got, err, want)
		}
	}
}

// A damaged stored hash is an error naming what is wrong, never a panic
// inside argon2 nor a "%!w(<nil>)".
func TestCheckPasswordBadHash(t *testing.T) {
	good, err := hashPassword("correct horse", testMemory)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=…,t=…,p=…, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, c := range map[string]struct{ hash, want string }{
		"t=0":         {with(3, "m=1024,t=0,p=4"), "want t ≥ 1"},
		"p=0":         {with(3, "m=1024,t=1,p=0"), "want t ≥ 1"},
		"m=0":         {with(3, "m=0,t=1,p=4"), "8·p ≤ m"},
		"m=4 GiB":     {with(3, "m=4194304,t=1,p=4"), "m ≤"},
		"empty key":   {with(5, ""), "the key is empty"},
		"bad key":     {with(5, "!!"), "key"},
		"not argon2":  {"$2a$10$abc", "not an argon2id"},
		"bad version": {with(2, "v=18"), "version"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic: %v", p)
				}
			}()
			ok, err := CheckPassword(c.hash, "correct horse")
			if ok || err == nil {
				t.Fatalf("%s: %v, %v; want an error", c.hash, ok, err)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "%!") {
				t.Errorf("error %q, want one saying %q", err, c.want)
			}
		})
	}
}

// Logins of an account whose stored hash is damaged fail, and leave the
// password-check slots free: the right password of another still logs in.
func TestDamagedHashLeavesCheckSlotsFree(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.st.AddUser(ctx, store.User{Name: "broken", Role: store.RoleBureau,
		PasswordHash: "$argon2id$v=19$m=1024,t=1,p=0$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"}, morning); err != nil {
		t.Fatal(err)
	}
	c := f.start(t)
	for range 2 * cap(f.srv.verify) {
		if code, _ := c.login("broken", "whatever-it-is"); code != http.StatusUnauthorized {
			t.Errorf("login with a damaged hash: %d, want 401", code)
		}
	}
	done := make(chan int, 1)
	go func() { code, _ := c.login(bureauName, bureauPassword); done <- code }()
	select {
	case code := <-done:
		if code != http.StatusSeeOther {
			t.Errorf("right password after the damaged ones: %d, want 303", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a login still waiting for a check slot after 10 s: the damaged logins kept theirs")
	}
}

// A login waiting for a check slot gives up when its request is cancelled
// (the client went away), and does not count as a failure.
func TestLoginWaitHonoursCancellation(t *testing.T) {
	f := newFixture(t)
	c := f.start(t)
	token := c.csrf("/login")
	u, _ := url.Parse(c.base)
	var loginCk string
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == loginCookie {
			loginCk = ck.Value
		}
	}
	for range cap(f.srv.verify) { // every slot busy
		f.srv.verify <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	form := url.Values{"csrf": {token}, "name": {bureauName}, "password": {bureauPassword}}.Encode()
	req := httptest.NewRequestWithContext(ctx, "POST", "/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCookie, Value: loginCk})
	done := make(chan struct{})
	go func() { f.srv.Handler().ServeHTTP(httptest.NewRecorder(), req); close(done) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the login still waits for a check slot 10 s after its request was cancelled")
	}
	for range cap(f.srv.verify) {
		<-f.srv.verify
	}
	if n := len(f.srv.byName.failures[bureauName]); n != 0 {
		t.Errorf("%d failures counted for a login given up before its check", n)
	}
}
