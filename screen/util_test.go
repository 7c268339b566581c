package screen

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newRequest is httptest.NewRequest for the screen's own address:
// httptest's default Host example.com is a foreign host name to it.
func newRequest(method, target string, body io.Reader) *http.Request {
	req := httptest.NewRequest(method, target, body)
	req.Host = "127.0.0.1:8080"
	return req
}
