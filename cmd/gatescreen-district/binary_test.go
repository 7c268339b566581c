package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
	"github.com/gatescreen/gatescreen/internal/testkit/testbinary"
)

var district = &testbinary.Binary{Package: "."}

func TestMain(m *testing.M) {
	code := m.Run()
	district.Remove()
	os.Exit(code)
}

// ingester is a gatescreen-district ingest process.
type ingester struct {
	cmd *exec.Cmd
	out *syncbuf.Buffer
}

func startIngester(t *testing.T, args ...string) *ingester {
	t.Helper()
	return startCommand(t, "subscribed", "ingest", args...)
}

// startCommand starts gatescreen-district command and waits for its log
// line ready.
func startCommand(t *testing.T, ready, command string, args ...string) *ingester {
	t.Helper()
	in := &ingester{out: &syncbuf.Buffer{}}
	in.cmd = exec.Command(district.Path(t), append([]string{command, "-log-format", "json"}, args...)...)
	in.cmd.Stdout, in.cmd.Stderr = in.out, in.out
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.kill() })
	poll.Until(t, 30*time.Second, command+" to be ready", func() bool {
		return strings.Contains(in.out.String(), `"message":"`+ready+`"`)
	})
	return in
}

func (in *ingester) kill() {
	if in.cmd.ProcessState == nil {
		_ = in.cmd.Process.Signal(syscall.SIGKILL)
		_ = in.cmd.Wait()
	}
}

// A SIGKILL of the ingester mid-way through a stream of events loses none
// and stores none twice: what it had not acknowledged the broker sends
// again to the restarted process (same client id, persistent session).
func TestSIGKILLMidBatchLosesNothing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		killMidBatch(t, "sqlite:"+filepath.Join(t.TempDir(), "district.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		killMidBatch(t, pgtest.Start(t, pgtest.Opts{}).NewDatabase(t))
	})
}

func killMidBatch(t *testing.T, dsn string) {
	broker := mosquittotest.StartPlain(t)
	args := []string{"-broker", broker.URL("tcp"), "-district", "hd", "-group", "e2e", "-client-id", "district-e2e", "-db", dsn, "-batch", "50"}
	in := startIngester(t, args...)
	db, err := store.Open(context.Background(), dsn, store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() int64 { n, _ := db.CountEvents(context.Background()); return n }

	const boxes, messages, per = 4, 250, 4 // 4,000 events in 1,000 messages
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL("tcp")).SetClientID("boxes"))
	if tok := pub.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	published := make(chan error, 1)
	go func() { published <- publishAll(pub, boxes, messages, per) }()

	poll.Until(t, 60*time.Second, "a quarter of the events stored", func() bool { return count() >= boxes*messages*per/4 })
	in.kill()
	killedAt := count()
	if killedAt >= boxes*messages*per {
		t.Fatalf("all %d events stored before the kill: nothing tested", killedAt)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	in = startIngester(t, args...)
	poll.Until(t, 120*time.Second, "every event stored", func() bool { return count() >= boxes*messages*per })
	time.Sleep(200 * time.Millisecond) // anything more would be a repeat

	evs, err := db.Events(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.ID]++
	}
	for b := 1; b <= boxes; b++ {
		for s := 1; s <= messages*per; s++ {
			if id := fmt.Sprintf("box-%d:%d", b, s); seen[id] != 1 {
				t.Errorf("%s stored %d times", id, seen[id])
			}
		}
	}
	if len(evs) != boxes*messages*per {
		t.Errorf("%d events stored, want %d", len(evs), boxes*messages*per)
	}
	if q, _ := db.Quarantine(context.Background()); len(q) != 0 {
		t.Errorf("quarantined %+v", q)
	}
	t.Logf("killed with %d of %d events stored", killedAt, boxes*messages*per)
	in.cmd.Process.Signal(syscall.SIGTERM)
	if err := in.cmd.Wait(); err != nil {
		t.Errorf("SIGTERM: %v\n%s", err, in.out)
	}
}

// publishAll publishes every box's readings in seq order, as boxes do.
func publishAll(c mqtt.Client, boxes, messages, per int) error {
	for m := 0; m < messages; m++ {
		for b := 1; b <= boxes; b++ {
			var evs []string
			for j := 1; j <= per; j++ {
				seq := m*per + j
				evs = append(evs, fmt.Sprintf(`{"id":"box-%d:%d","seq":%d,"kind":"reading","captured_at":"2026-11-23T07:12:05.250Z",`+
					`"clock_synced":true,"drill":false,"lane":"lane-1","device":"ir-1","verdict":"pass","threshold_c":37.3}`, b, seq, seq))
			}
			payload := fmt.Sprintf(`{"v":1,"box":"box-%d","events":[%s]}`, b, strings.Join(evs, ","))
			tok := c.Publish(fmt.Sprintf("gatescreen/v1/hd/school-%d/gate/readings", b), 1, false, payload)
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				return fmt.Errorf("publishing: %v", tok.Error())
			}
		}
	}
	return nil
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "usage: gatescreen-district"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"ingest", "-district", "hd"}, exitUsage, "-broker and -district are required"},
		{[]string{"ingest", "-broker", "tcp://127.0.0.1:1", "-district", "hd", "-db", "district.db"}, exitError, "want sqlite:PATH or postgres://"},
		{[]string{"ingest", "-broker", "tcp://127.0.0.1:1", "-district", "h/d", "-db", "sqlite:" + filepath.Join(t.TempDir(), "d.db")}, exitUsage, "must not contain /"},
		{[]string{"ingest", "-broker", "tcp://127.0.0.1:1", "-district", "hd", "-db", "sqlite:/nonexistent/dir/d.db"}, exitError, "/nonexistent/dir"},
		{[]string{"ingest", "-broker", "tcp://127.0.0.1:1", "-district", "hd", "-batch", "0"}, exitUsage, "must be at least 1"},
		{[]string{"ingest", "-broker", "tcp://127.0.0.1:1", "-district", "hd", "-clock-skew", "1s"}, exitUsage, "want at least 1m"},
		{[]string{"ingest", "-broker", "tcp://127.0.0.1:1", "-district", "hd", "-max-backlog", "1h"}, exitUsage, "want at least 24h"},
		{[]string{"serve", "-timezone", "Mars/Olympus"}, exitUsage, "Mars/Olympus"},
		{[]string{"serve", "-school-hours", "18:00-06:30"}, exitUsage, "ends before it starts"},
		{[]string{"serve", "-report-deadline", "8pm"}, exitUsage, "want HH:MM"},
		{[]string{"serve", "-webhook", "ftp://hooks"}, exitUsage, "want an http:// or https:// URL"},
		{[]string{"serve", "-offline-after", "0s"}, exitUsage, "must be positive"},
		{[]string{"serve", "-webhook-file", "/nonexistent/hook"}, exitError, "/nonexistent/hook"},
		{[]string{"report", "-date", "2026-11-23"}, exitUsage, "-o FILE is required"},
		{[]string{"report", "-date", "23.11.2026", "-o", "x.xlsx"}, exitUsage, "want YYYY-MM-DD"},
		{[]string{"report", "-format", "pdf", "-o", "x.pdf"}, exitUsage, "want xlsx or csv"},
		{[]string{"report", "-db", "sqlite:/nonexistent/d.db", "-o", filepath.Join(t.TempDir(), "x.csv")}, exitError, "/nonexistent"},
		{[]string{"version"}, exitOK, "gatescreen-district "},
		{[]string{"ingest", "-h"}, exitOK, "-client-id"},
	} {
		cmd := exec.Command(district.Path(t), tc.args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, &out)
		}
	}
}

// The box's binary links nothing of the district's.
func TestBoxBinaryLeavesTheDistrictOut(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../gatescreen").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/internal/district") || strings.HasPrefix(pkg, "modernc.org/sqlite") || strings.HasPrefix(pkg, "github.com/jackc/pgx") {
			t.Errorf("cmd/gatescreen imports %s", pkg)
		}
	}
}
