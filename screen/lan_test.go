package screen

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/pipeline"
)

// The tests in this file are the screen's defences on a school LAN, where
// anyone on the network reaches the screen's port.

// doAs sends a request from remote (ip:port) with Host host.
func (f *fixture) doAs(t *testing.T, remote, host, method, path, body string) response {
	t.Helper()
	// An accepted event stream ends with the context.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	req.RemoteAddr, req.Host = remote, host
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return response{code: rec.Code, hdr: rec.Result().Header, body: rec.Body.String()}
}

func TestPublicAPIHidesWhoWasMeasured(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := openEvents(t, ctx, srv.URL)
	ev.next() // the state before the reading
	m := f.measurement(0, pipeline.VerdictFlag, 38.1)
	m.SetPersonID("S2002")
	f.s.Consume(m)
	name, data := ev.next()
	if name != "lane" || strings.Contains(data, "S2002") {
		t.Fatalf("/events sent %s %s: a student number without a session", name, data)
	}
	if r := f.do(t, "GET", "/api/state", "", nil, ""); r.code != http.StatusOK || strings.Contains(r.body, "S2002") {
		t.Fatalf("/api/state (%d) carries the student number: %s", r.code, r.body)
	}
	ev2 := openEvents(t, ctx, srv.URL)
	if name, data := ev2.next(); name != "state" || strings.Contains(data, "S2002") {
		t.Fatalf("/events snapshot carries the student number: %s", data)
	}
}

func TestWrongPINsFromOneClientDoNotLockOutTheDoctor(t *testing.T) {
	f := newFixture(t, nil)
	const prankster, desk = "10.0.0.66:50000", "10.0.0.5:41000"
	for round := range 3 {
		for range 6 {
			f.doAs(t, prankster, "127.0.0.1", "POST", "/api/login", `{"pin":"0000"}`)
		}
		if r := f.doAs(t, prankster, "127.0.0.1", "POST", "/api/login", `{"pin":"`+testPIN+`"}`); r.code != http.StatusTooManyRequests {
			t.Fatalf("round %d: the guessing client with the right PIN: %d, want 429", round, r.code)
		}
		r := f.doAs(t, desk, "127.0.0.1", "POST", "/api/login", `{"pin":"`+testPIN+`"}`)
		if r.code != http.StatusOK {
			t.Fatalf("round %d: the doctor at the desk while another client guesses: %d %s, want 200", round, r.code, r.body)
		}
		f.clock.advance(6 * time.Minute)
	}
}

// dialFrom is an HTTP client whose connections come from the loopback
// address ip (all of 127/8 is the loopback on Linux), so one test can be
// several clients of the LAN.
func dialFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

func TestIdleStreamsFromOneClientDoNotTakeEveryScreenSlot(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(ip string) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
		resp, err := dialFrom(ip).Do(req)
		if err != nil {
			t.Fatalf("GET /events from %s: %v", ip, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp.StatusCode
	}
	// An idle flood from one machine: it gets a few streams, not all 32.
	codes := map[int]int{}
	for range 32 {
		codes[open("127.0.0.2")]++
	}
	if codes[http.StatusOK] > 4 {
		t.Fatalf("one client holds %d streams (%v), want at most 4", codes[http.StatusOK], codes)
	}
	if code := open("127.0.0.3"); code != http.StatusOK {
		t.Fatalf("the real screen after the flood: %d, want 200", code)
	}
}

func TestForeignHostNamesRefused(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.Hosts = []string{"gate-box.local"} })
	for _, host := range []string{"evil.example", "evil.example:8080", "gate-box.local.evil.example", "localhost.evil.example"} {
		for _, path := range []string{"/api/state", "/", "/events", "/api/login"} {
			method, body := "GET", ""
			if path == "/api/login" {
				method, body = "POST", `{"pin":"0000"}`
			}
			if r := f.doAs(t, "10.0.0.7:5000", host, method, path, body); r.code != http.StatusMisdirectedRequest {
				t.Errorf("%s %s with Host %s: %d, want 421", method, path, host, r.code)
			}
		}
	}
	for _, host := range []string{"127.0.0.1:8080", "192.168.1.20", "[fe80::1]:8080", "localhost:8080", "gate-box.local", "GATE-BOX.local:8080"} {
		if r := f.doAs(t, "10.0.0.7:5000", host, "GET", "/api/state", ""); r.code != http.StatusOK {
			t.Errorf("Host %s: %d, want 200", host, r.code)
		}
	}
}
