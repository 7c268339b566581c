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
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/event"
)

// issue #21.4 end to end on the real binary: the demo's school has students
// who never came; one is recorded absent through illness with fever, the
// daily report of 18:00 counts it per grade, and what the broker receives
// carries the counts and no name or roster id.
func TestAbsenceRecordedCountedAndUploadedAsCounts(t *testing.T) {
	data := t.TempDir()
	// The school's clock stands at 17:59:35 in Shanghai: the report is due
	// 25 s after the start.
	now := time.Now().In(shanghai)
	due := time.Date(now.Year(), now.Month(), now.Day(), 18, 0, 0, 0, shanghai)
	offset := filepath.Join(data, "clock-offset")
	if err := os.WriteFile(offset, []byte(due.Add(-25*time.Second).Sub(now).String()), 0o600); err != nil {
		t.Fatal(err)
	}
	clockEnv := "GATESCREEN_TEST_CLOCK_FILE=" + offset
	cmd, stdout, stderr := startDemo(t, data, clockEnv)
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
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
	var broker string
	select {
	case broker = <-brokerc:
	case <-time.After(20 * time.Second):
		t.Fatalf("demo printed no welcome; stderr:\n%s", stderr.String())
	}
	daily := make(chan []byte, 4)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("absence-test"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", broker, tok.Error())
	}
	defer c.Disconnect(100)
	c.Subscribe("gatescreen/v1/+/+/+/daily", 1, func(_ paho.Client, m paho.Message) { daily <- m.Payload() }).WaitTimeout(5 * time.Second)

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
	first := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	if len(first) < 3 || !strings.HasPrefix(first[0], "S") {
		t.Fatalf("no absentee listed:\n%s", out)
	}
	id, name := first[0], first[2]
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
	deadline := time.After(60 * time.Second)
	for {
		select {
		case p := <-daily:
			var rep event.Daily
			if err := json.Unmarshal(p, &rep); err != nil {
				t.Fatalf("daily payload %s: %v", p, err)
			}
			if rep.AbsenceReasons["illness"] == 0 {
				continue // a retained report of before
			}
			if rep.IllSymptoms["fever"] != 1 || len(rep.IllByGrade) != 1 || rep.Absentees < 1 {
				t.Fatalf("daily report %s", p)
			}
			for _, personal := range []string{id, name, "家长来电"} {
				if strings.Contains(string(p), personal) {
					t.Fatalf("the uploaded daily report carries %q: %s", personal, p)
				}
			}
			return
		case <-deadline:
			t.Fatalf("no daily report with the absence by 18:00 + 35 s; stderr:\n%s", stderr.String())
		}
	}
}
