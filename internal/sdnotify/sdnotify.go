package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends state lines to systemd.
type Notifier struct {
	socket string
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET.
func FromEnv() *Notifier { return &Notifier{socket: os.Getenv("NOTIFY_SOCKET")} }

// Enabled reports whether systemd listens.
func (n *Notifier) Enabled() bool { return n.socket != "" }

// Send writes one state, e.g. "READY=1".
func (n *Notifier) Send(state string) error {
	if n.socket == "" {
		return nil
	}
	addr := &net.UnixAddr{Name: n.socket, Net: "unixgram"}
	if addr.Name[0] == '@' { // abstract namespace
		addr.Name = "\x00" + addr.Name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("sdnotify: dial %s: %w", n.socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: send %q: %w", state, err)
	}
	return nil
}

// WatchdogInterval returns the ping interval systemd asked for ($WATCHDOG_USEC
// halved), or 0 when no watchdog is set for this process.
func WatchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// Watchdog pings systemd until ctx is done. alive is asked before each ping;
// a false answer skips the ping so systemd restarts a wedged daemon.
func (n *Notifier) Watchdog(ctx context.Context, alive func() bool) {
	interval := WatchdogInterval()
	if interval == 0 || !n.Enabled() {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if alive == nil || alive() {
				_ = n.Send("WATCHDOG=1") // a failed ping is what the watchdog is for
			}
		}
	}
}
