package daemon

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// The daemon stops in the order its data needs: the devices first, then
// the pipeline drains, the lamps and the uplink let go, and the store is
// flushed last; a clean shutdown returns nil.
func TestRunShutsDownInOrder(t *testing.T) {
	cfg := config.Default()
	cfg.Storage.Path = filepath.Join(t.TempDir(), "events.db")
	cfg.Screen.Listen, cfg.Metrics.Listen = "", ""
	cfg.Uplink.Broker = ""
	cfg.Devices = []drivers.Device{{Name: "ir1", Driver: "gymcu90614", Port: "/dev/ttyTEST0", Mode: "body"}}
	cfg.Lanes = []config.Lane{{Name: "lane-1", Role: event.RoleStudent, Device: "ir1"}}
	// The device's port never opens: its runner waits until it is stopped.
	never := func(drivers.Device, drivers.Driver) func(context.Context) (drivers.Conn, io.Closer, error) {
		return func(ctx context.Context) (drivers.Conn, io.Closer, error) {
			<-ctx.Done()
			return drivers.Conn{}, nil, ctx.Err()
		}
	}
	var logs syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Opts{Config: &cfg, Logger: zerolog.New(&logs), Open: never, Ready: func(i Info) { ready <- i }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run returned before it was ready: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("not ready in 30 s\n%s", logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("a clean shutdown returned %v\n%s", err, logs.String())
	}
	out := logs.String()
	at := 0
	for _, msg := range []string{"gate running", "stopping: devices first", "draining the pipeline",
		"uplink: publishing offline status", "flushing the store"} {
		i := strings.Index(out[at:], `"message":"`+msg+`"`)
		if i < 0 {
			t.Fatalf("%q missing or out of order in\n%s", msg, out)
		}
		at += i
	}
}
