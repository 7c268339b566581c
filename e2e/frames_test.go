//go:build e2e

package e2e

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
)

// #20 item 10: what a device sent that never became a reading is counted on
// /metrics by outcome, beside what the pipeline rejected. A gate line longer
// than any frame is "dropped"; a Modbus transmitter that stops answering
// (a dead RS-485 line: nothing on the other end of the port) is "timeout",
// counted across the runner's reopenings. Both were absent: such a device
// looked like a quiet lane.
func TestDeviceFramesCountWhatNeverBecameAReading(t *testing.T) {
	var gate *os.File
	r := newRig(t, scenario(t, quietGate), func(c *config.Config) {
		gate = ownDevice(t, c, drivers.Device{Name: "raw-gate", Driver: "lineproto", Baud: 9600, Mode: "body",
			Line: &drivers.LineOpts{Pattern: `^T=(?P<temp>-?\d+\.\d)C$`, LineEnd: "\r\n", MaxLine: 32}}, event.RoleStudent)
		// Its far end stays unread and silent, as a cut RS-485 pair.
		ownDevice(t, c, drivers.Device{Name: "rs485-ir", Driver: "modbusir", Baud: 9600, Mode: "body",
			RateHz: 4, Modbus: &drivers.ModbusOpts{SlaveID: 1}}, event.RoleStaff)
	})
	r.start(true)
	garbage := strings.Repeat("\x00\xff", 40) + "\r\n" // 80 bytes of line noise, no frame
	for _, s := range []string{garbage, "T=ab.cC\r\n", "T=36.5C\r\n"} {
		if _, err := gate.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]func(n int) bool{
		`gatescreen_device_frames_total{device="raw-gate",outcome="dropped"}`:   func(n int) bool { return n == 1 },
		`gatescreen_device_frames_total{device="raw-gate",outcome="malformed"}`: func(n int) bool { return n == 1 },
		`gatescreen_device_frames_total{device="raw-gate",outcome="valid"}`:     func(n int) bool { return n == 1 },
		// modbusir gives up a session after 5 unanswered polls (500 ms each);
		// more than 5 means the count survived the runner's reopen.
		`gatescreen_device_frames_total{device="rs485-ir",outcome="timeout"}`: func(n int) bool { return n > 5 },
	}
	var page string
	deadline := time.Now().Add(30 * time.Second)
	for {
		page = getText(t, r.metrics)
		missing := ""
		for series, ok := range want {
			if n, found := sample(page, series); !found || !ok(n) {
				missing = series
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, /metrics has no satisfying %s:\n%s", missing, grepLines(page, "gatescreen_device_frames_total"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n, found := sample(page, `gatescreen_device_frames_total{device="rs485-ir",outcome="valid"}`); !found || n != 0 {
		t.Errorf("the unanswering transmitter has %d valid frames (present %v), want 0", n, found)
	}
	r.stop()
	figures(t, "80-byte noise line: dropped 1; T=ab.cC: malformed 1; T=36.5C: valid 1; Modbus transmitter with nothing on its line: %s",
		grepLines(page, `device="rs485-ir",outcome="timeout"`))
}

// sample returns the value of one series on a Prometheus text page.
func sample(page, series string) (int, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\d+)$`).FindStringSubmatch(page)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

func grepLines(page, substr string) string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
