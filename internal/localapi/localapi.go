package localapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// SocketPath is the socket of the daemon whose store is storagePath.
func SocketPath(storagePath string) string {
	return filepath.Join(filepath.Dir(storagePath), "gatescreen.sock")
}

// Listen creates the socket (replacing a stale one) with mode 0660.
func Listen(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("local API %s: another gatescreen is running", path)
	}
	_ = os.Remove(path) // stale socket of a killed daemon
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("local API: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("local API %s: %w", path, err)
	}
	return ln, nil
}

// ErrNotRunning says no daemon answers on the socket.
var ErrNotRunning = errors.New("no gatescreen daemon is running")

// Client calls a daemon's local API.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client of the daemon listening on socket.
func NewClient(socket string) *Client {
	return &Client{socket: socket, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}}
}

// Do calls method path?query and copies a successful answer to w. An error
// answer is returned as an error carrying the daemon's message.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, w io.Writer) error {
	u := "http://gatescreen" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w (socket %s)", ErrNotRunning, c.socket)
		}
		return fmt.Errorf("local API %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s", strings.TrimSpace(string(msg)))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
