package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/xuri/excelize/v2"

	"github.com/gatescreen/gatescreen/internal/district/alert"
	"github.com/gatescreen/gatescreen/internal/district/report"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// A case confirmed on re-check, published by a box, reaches the district's
// webhook within 2 s: through Mosquitto, the ingester and serve, the real
// binaries on one SQLite file.
func TestConfirmedCaseReachesTheWebhookWithin2s(t *testing.T) {
	got := make(chan alert.Payload, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p alert.Payload
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		got <- p
	}))
	defer hook.Close()
	broker := mosquittotest.StartPlain(t)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "district.db")
	startIngester(t, "-broker", broker.URL("tcp"), "-district", "hd", "-client-id", "district-alerts", "-db", dsn)
	hookFile := filepath.Join(t.TempDir(), "webhook")
	if err := os.WriteFile(hookFile, []byte(hook.URL+"/alerts?token=secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := startCommand(t, "serving alerts", "serve", "-db", dsn, "-webhook-file", hookFile, "-listen", "127.0.0.1:0")

	golden, err := os.ReadFile("../../testdata/mqtt/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(golden, &c); err != nil {
		t.Fatal(err)
	}
	c["from"], c["state"] = "awaiting_recheck", "confirmed"
	// Captured now: the golden day, weeks back, would also raise box_clock.
	c["captured_at"] = time.Now().UTC().Format(store.TimeFormat)
	delete(c, "disposition")
	payload, _ := json.Marshal(c)
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL("tcp")).SetClientID("hd17-east"))
	if tok := pub.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	start := time.Now()
	if tok := pub.Publish("gatescreen/v1/hd/hd17/east/cases", 1, false, payload); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case p := <-got:
		took := time.Since(start)
		t.Logf("published → webhook in %s", took)
		if took > 2*time.Second {
			t.Errorf("the alert took %s, want within 2 s", took)
		}
		if p.Kind != store.AlertCaseConfirmed || p.School != "hd17" || p.Gate != "east" || p.Key != "case_confirmed:hd17-east:2026-11-23:R-003" {
			t.Errorf("payload %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no webhook within 10 s\n%s", serve.out)
	}
	serve.cmd.Process.Signal(syscall.SIGTERM)
	if err := serve.cmd.Wait(); err != nil {
		t.Errorf("serve on SIGTERM: %v\n%s", err, serve.out)
	}
	select {
	case p := <-got:
		t.Errorf("sent again: %+v", p)
	default:
	}
	if strings.Contains(serve.out.String(), "secret") {
		t.Errorf("the webhook's token is in the log:\n%s", serve.out)
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "district.db")
	db, err := store.Open(context.Background(), dsn, store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // 18:00 in Shanghai
	_, err = db.Write(context.Background(), &store.Batch{Messages: []store.Message{{
		Topic: "gatescreen/v1/hd/hd17/east/daily", Site: store.Site{District: "hd", School: "hd17", Gate: "east"}, Box: "hd17-east",
		ReceivedAt: at, Daily: &store.Daily{Day: "2026-11-23", ID: "hd17-east:9", Seq: 9, Totals: store.Counts{Total: 1710, Flag: 2}, Body: []byte(`{}`)},
	}}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"summary.xlsx", "summary.csv"} {
		out := filepath.Join(dir, name)
		cmd := exec.Command(district.Path(t), "report", "-db", dsn, "-date", "2026-11-23", "-o", out)
		if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "1 schools") {
			t.Fatalf("report %s: %v\n%s", name, err, b)
		}
		if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
			t.Errorf("%s.partial left behind: %v", name, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".csv") {
			if !bytes.HasPrefix(b, []byte("\uFEFF日期 date,学校 school")) || !strings.Contains(string(b), "\n2026-11-23,hd17,1,1,1710,2,") {
				t.Errorf("CSV:\n%s", b)
			}
			continue
		}
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := f.GetCellValue(report.SheetName, "E3"); v != "1710" {
			t.Errorf("screened %q, want 1710", v)
		}
		if v, _ := f.GetCellValue(report.SheetName, "N3"); v != "2026-11-23 18:00:00" {
			t.Errorf("received at %q, want Shanghai time", v)
		}
		f.Close()
	}
}
