package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// issue #21.4 end to end on the real binary: the demo's school has students
// who never came; at noon one is recorded absent through illness with
// fever; the demo is started again at 18:30 (the clock stepped on, as a box
// switched off over the afternoon), sends the day's report, which counts
// the absence per grade, and what the broker receives carries the counts
// and no name, roster id or note.
func TestAbsenceRecordedCountedAndUploadedAsCounts(t *testing.T) {
	data := t.TempDir()
	offset := pinClock(t, data, 12)
	clockEnv := "GATESCREEN_TEST_CLOCK_FILE=" + offset
	cmd, stdout, stderr := startDemo(t, data, clockEnv)
	demoBroker(t, stdout, stderr)

	cfgPath := filepath.Join(data, "gate.yaml")
	command := func(args ...string) *exec.Cmd {
		c := exec.Command(binary(t), args...)
		c.Env = append(os.Environ(), clockEnv)
		return c
	}
	companion := func(args ...string) (string, error) {
		out, err := command(args...).CombinedOutput()
		return string(out), err
	}
	out, err := companion("absence", "list", "-config", cfgPath)
	if err != nil {
		t.Fatalf("absence list: %v\n%s", err, out)
	}
	// The last student of the roster has no card: never measured.
	var id, name string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] > id {
			id, name = f[0], f[2]
		}
	}
	if !strings.HasPrefix(id, "S") {
		t.Fatalf("no absentee listed:\n%s", out)
	}
	out, err = companion("absence", "record", "-config", cfgPath, "-id", id, "-reason", "illness", "-symptoms", "fever", "-note", "家长来电")
	if err != nil || !strings.Contains(out, "recorded: "+id) {
		t.Fatalf("absence record: %v\n%s", err, out)
	}
	if out, _ := companion("absence", "list", "-config", cfgPath); !strings.Contains(out, id) || !strings.Contains(out, "因病 illness fever") {
		t.Fatalf("the list does not show the record:\n%s", out)
	}
	// While the daemon runs, the workbook is made by the companion from the
	// daemon's CSV tables; the absence is in its register with its reason.
	xlsx := filepath.Join(t.TempDir(), "台账.xlsx")
	rows, _ := openXLSX(t, command("export", "-config", cfgPath, "-format", "xlsx", "-o", xlsx), xlsx).GetRows("缺勤登记表")
	found := false
	for _, r := range rows {
		found = found || (len(r) > 6 && r[3] == name && r[5] == "因病" && r[6] == "发热")
	}
	if !found {
		t.Fatalf("the absence is not in the workbook's register: %q", rows)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo stop: %v\n%s", err, stderr.String())
	}

	if err := os.WriteFile(offset, []byte(clockAt(18, 30).String()), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stdout, stderr = startDemo(t, data, clockEnv)
	broker := demoBroker(t, stdout, stderr)
	daily := make(chan []byte, 4)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("absence-test"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", broker, tok.Error())
	}
	defer c.Disconnect(100)
	c.Subscribe("gatescreen/v1/+/+/+/daily", 1, func(_ paho.Client, m paho.Message) { daily <- m.Payload() }).WaitTimeout(5 * time.Second)
	select {
	case p := <-daily:
		var rep event.Daily
		if err := json.Unmarshal(p, &rep); err != nil {
			t.Fatalf("daily payload %s: %v", p, err)
		}
		if rep.AbsenceReasons["illness"] != 1 || rep.IllSymptoms["fever"] != 1 || len(rep.IllByGrade) != 1 || rep.Absentees < 1 {
			t.Fatalf("daily report %s", p)
		}
		for _, personal := range []string{id, name, "家长来电"} {
			if strings.Contains(string(p), personal) {
				t.Fatalf("the uploaded daily report carries %q: %s", personal, p)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no daily report on the broker 30 s after a start at 18:30; stderr:\n%s", stderr.String())
	}
}

// demoBroker waits for the demo's welcome and returns its broker's URL.
func demoBroker(t *testing.T, stdout io.Reader, stderr *syncbuf.Buffer) string {
	t.Helper()
	subRe := regexp.MustCompile(`mosquitto_sub -h (\S+) -p (\d+)`)
	brokerc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := subRe.FindStringSubmatch(sc.Text()); m != nil {
				brokerc <- "tcp://" + m[1] + ":" + m[2]
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case b := <-brokerc:
		return b
	case <-time.After(20 * time.Second):
		t.Fatalf("demo printed no welcome; stderr:\n%s", stderr.String())
	}
	return ""
}
