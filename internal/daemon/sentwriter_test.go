package daemon

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An export that fails after its first bytes cuts the connection: the
// client reads a short body and an error, never a 200 whose body looks like
// a whole ledger with an error message appended. Before the first byte the
// failure is a plain error answer.
func TestExportFailureIsNeverAWholeBody(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first int // bytes written before the failure
	}{{"before any byte", 0}, {"midway", 8192}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				sw := &sentWriter{w: w}
				if tc.first > 0 {
					_, _ = sw.Write([]byte(strings.Repeat("x", tc.first)))
				}
				sw.fail(errors.New("store read failed"))
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if tc.first == 0 {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "store read failed") {
					t.Fatalf("status %d body %q, want 400 naming the error", resp.StatusCode, body)
				}
				return
			}
			if err == nil {
				t.Fatalf("read %d bytes and no error: a cut-off export looked whole", len(body))
			}
		})
	}
}
