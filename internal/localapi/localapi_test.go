package localapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientServerOverSocket(t *testing.T) {
	dir := t.TempDir()
	sock := SocketPath(filepath.Join(dir, "events.db"))
	c := NewClient(sock)
	var out bytes.Buffer
	if err := c.Do(context.Background(), "GET", "/v1/report", nil, &out); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("no daemon: %v", err)
	}
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/echo", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.URL.Query().Get("x")) })
	mux.HandleFunc("GET /v1/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such lane", http.StatusNotFound) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	if err := c.Do(context.Background(), "GET", "/v1/echo", url.Values{"x": {"东门"}}, &out); err != nil || out.String() != "东门" {
		t.Fatalf("echo: %q %v", out.String(), err)
	}
	if err := c.Do(context.Background(), "GET", "/v1/fail", nil, &out); err == nil || err.Error() != "no such lane" {
		t.Fatalf("error answer: %v", err)
	}
	// A second daemon on the same store is refused while the first answers.
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "another gatescreen") {
		t.Fatalf("second listener: %v", err)
	}
}

// A socket left by a killed daemon is replaced.
func TestListenReplacesStaleSocket(t *testing.T) {
	sock := SocketPath(filepath.Join(t.TempDir(), "events.db"))
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	ln.Close() // the file stays, nobody listens: a stale socket
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("stale socket gone: %v", err)
	}
	ln2, err := Listen(sock)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	ln2.Close()
}
