package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// pinClock writes a GATESCREEN_TEST_CLOCK_FILE offset under dir that puts
// the wall clock at hour:00 in Shanghai on the current Shanghai school day
// (clockAt), and returns its path.
func pinClock(t *testing.T, dir string, hour int) string {
	t.Helper()
	path := filepath.Join(dir, "clock-offset")
	if err := os.WriteFile(path, []byte(clockAt(hour, 0).String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clockAt is the clock offset that puts the wall clock at hour:min in
// Shanghai on the current Shanghai date, or on the next Monday when that
// is a Saturday or a Sunday: the demo's school screens and owes its roster
// only on weekdays, and a test run at the weekend must see a school day.
func clockAt(hour, minute int) time.Duration {
	now := time.Now().In(shanghai)
	day := now
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), hour, minute, 0, 0, shanghai).Sub(now)
}

// startDemo starts `gatescreen demo` keeping its data in data, with env
// added (the test clock); it is killed when the test ends if still running.
func startDemo(t *testing.T, data string, env ...string) (*exec.Cmd, io.Reader, *syncbuf.Buffer) {
	t.Helper()
	cmd := exec.Command(binary(t), "demo", "-data", data, "-listen", "127.0.0.1:0", "-mqtt", "127.0.0.1:0", "-log-format", "json")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stdout, stderr
}

func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running gatescreen: %v", err)
	return -1
}

// The demo on a fresh machine: serves the screen, publishes on
// gatescreen/v1/# within 10 s, and stops cleanly with exit code 0 on Ctrl-C.
func TestDemoServesPublishesAndStopsCleanly(t *testing.T) {
	data := t.TempDir()
	// The daemon and the companions share an injected clock at noon in
	// Shanghai: at the real hour the 18:00 report may have been stored at
	// start, before the drill, and midnight may fall between the drill and
	// the export.
	clockEnv := "GATESCREEN_TEST_CLOCK_FILE=" + pinClock(t, data, 12)
	cmd, stdout, stderr := startDemo(t, data, clockEnv)

	screenRe := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)`)
	subRe := regexp.MustCompile(`mosquitto_sub -h (\S+) -p (\d+)`)
	var screenURL, broker string
	lines := bufio.NewScanner(stdout)
	deadline := time.After(20 * time.Second)
	found := make(chan struct{})
	go func() {
		for lines.Scan() {
			if m := screenRe.FindStringSubmatch(lines.Text()); m != nil && screenURL == "" {
				screenURL = m[1]
			}
			if m := subRe.FindStringSubmatch(lines.Text()); m != nil {
				broker = "tcp://" + m[1] + ":" + m[2]
				close(found)
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-found:
	case <-deadline:
		t.Fatalf("demo printed no welcome in 20 s; stderr:\n%s", stderr.String())
	}

	resp, err := http.Get(screenURL)
	if err != nil {
		t.Fatalf("screen %s: %v", screenURL, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<html") {
		t.Fatalf("screen answered %d: %.200s", resp.StatusCode, page)
	}

	got := make(chan string, 100)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("demo-test"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", broker, tok.Error())
	}
	defer c.Disconnect(100)
	c.Subscribe("gatescreen/v1/#", 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m.Topic():
		default:
		}
	}).WaitTimeout(5 * time.Second)
	select {
	case topic := <-got: // the retained status arrives at once, readings follow
		if !strings.HasPrefix(topic, "gatescreen/v1/demo-district/demo-school/east-gate/") {
			t.Fatalf("topic %q", topic)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published on gatescreen/v1/# within 10 s")
	}

	// The companions reach the running daemon over its local API.
	cfgPath := filepath.Join(data, "gate.yaml")
	out, err := exec.Command(binary(t), "drill", "-config", cfgPath, "-lane", "lane-1", "-temp", "38.6").CombinedOutput()
	if code := exitCodeOf(t, err); code != 0 || !strings.Contains(string(out), "drill on lane lane-1") {
		t.Fatalf("drill: exit %d:\n%s", code, out)
	}
	// "Today" is the school's day (Asia/Shanghai), whatever the system zone:
	// at any hour one of these two zones names another date than Shanghai.
	for _, tz := range []string{"Etc/GMT+12", "Pacific/Kiritimati"} {
		companion := func(args ...string) *exec.Cmd {
			c := exec.Command(binary(t), args...)
			c.Env = append(os.Environ(), "TZ="+tz, clockEnv)
			return c
		}
		deadline = time.After(10 * time.Second)
		for {
			out, err = companion("export", "-config", cfgPath, "-format", "jsonl").CombinedOutput()
			if exitCodeOf(t, err) == 0 && strings.Contains(string(out), `"body_c":38.6`) && strings.Contains(string(out), `"drill":true`) {
				break
			}
			select {
			case <-deadline:
				t.Fatalf("TZ=%s: the drill reading is not in the export:\n%s", tz, out)
			case <-time.After(100 * time.Millisecond):
			}
		}
		out, err = companion("report", "-config", cfgPath).Output()
		var rep event.Daily
		if code := exitCodeOf(t, err); code != 0 || json.Unmarshal(out, &rep) != nil || rep.Drills.Flag < 1 {
			t.Fatalf("TZ=%s: report: exit %d, want the drill counted:\n%s", tz, code, out)
		}
	}

	// SIGHUP applies new screening parameters; a broken file is refused and
	// the parameters in force stay.
	yml, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	lowered := strings.Replace(string(yml), "threshold_c: 37.3", "threshold_c: 37.1", 1)
	if lowered == string(yml) {
		t.Fatalf("no threshold_c: 37.3 in the demo's configuration:\n%s", yml)
	}
	hup := func(content, wantLog string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(stderr.String(), wantLog) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log after SIGHUP:\n%s", wantLog, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	hup(lowered, `"threshold_c":37.1`)
	hup("site: [broken", "reload rejected")

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitCodeOf(t, err); code != 0 {
			t.Fatalf("exit code %d after Ctrl-C; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not stop within 20 s of Ctrl-C")
	}
	if !strings.Contains(stderr.String(), "flushing the store") {
		t.Fatalf("no ordered shutdown in the log:\n%s", stderr.String())
	}
}

// check-config: every bad file names file:line, field and value and exits
// with the configuration exit code; the example passes.
func TestCheckConfigExitCodes(t *testing.T) {
	bin := binary(t)
	// As the README and the unit file give it (it exited 2), and as FILE.
	for _, args := range [][]string{{"-config", "../../configs/gate.example.yaml"}, {"../../configs/gate.example.yaml"}} {
		out, err := exec.Command(bin, append([]string{"check-config"}, args...)...).CombinedOutput()
		if code := exitCodeOf(t, err); code != 0 {
			t.Fatalf("check-config %s: exit %d:\n%s", args, code, out)
		}
	}
	if out, err := exec.Command(bin, "check-config", "-config", "a.yaml", "b.yaml").CombinedOutput(); exitCodeOf(t, err) != exitUsage {
		t.Fatalf("check-config with two files: %v, want exit %d:\n%s", err, exitUsage, out)
	}
	bad, _ := filepath.Glob("../../testdata/config/*.bad.yaml")
	if len(bad) == 0 {
		t.Fatal("no bad configs found")
	}
	lineRe := regexp.MustCompile(`\.bad\.yaml:\d+: `)
	for _, f := range bad {
		out, err := exec.Command(bin, "check-config", f).CombinedOutput()
		if code := exitCodeOf(t, err); code != exitConfig {
			t.Errorf("%s: exit %d, want %d:\n%s", f, code, exitConfig, out)
		}
		if !lineRe.Match(out) {
			t.Errorf("%s: no file:line in:\n%s", f, out)
		}
	}
	out, err := exec.Command(bin, "run", "-config", "../../testdata/config/bad-baud.bad.yaml").CombinedOutput()
	if code := exitCodeOf(t, err); code != exitConfig {
		t.Fatalf("run with a bad config: exit %d, want %d:\n%s", code, exitConfig, out)
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, args := range [][]string{{"run", "-config", missing}, {"check-config", missing}, {"check-config", "-config", missing}} {
		out, err = exec.Command(bin, args...).CombinedOutput()
		if code := exitCodeOf(t, err); code != exitConfig || !strings.Contains(string(out), "missing.yaml") {
			t.Fatalf("%s without its config file: exit %d, want %d:\n%s", args[0], code, exitConfig, out)
		}
	}
}

func TestUsageAndVersion(t *testing.T) {
	bin := binary(t)
	out, err := exec.Command(bin, "frobnicate").CombinedOutput()
	if code := exitCodeOf(t, err); code != exitUsage || !strings.Contains(string(out), "unknown command") {
		t.Fatalf("unknown command: exit %d:\n%s", code, out)
	}
	// `--version` exited 2; `version` printed only "gatescreen dev".
	for _, arg := range []string{"version", "-version", "--version"} {
		out, err = exec.Command(bin, arg).CombinedOutput()
		if code := exitCodeOf(t, err); code != 0 {
			t.Fatalf("%s: exit %d: %s", arg, code, out)
		}
		for _, want := range []string{"gatescreen ", "commit:", "date:", "go:       " + runtime.Version() + " linux/"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s printed %q, want a line with %q", arg, out, want)
			}
		}
	}
}

// Companion commands without a running daemon: the roster import checks the
// file line by line and keeps a copy; report and export read the store.
func TestCompanionsWithoutDaemon(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cfg := writeGate(t, dir, "{name: lane-1, role: student, device: gun-1}")
	roster := filepath.Join(dir, "roster.csv")
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,name,class,grade,role,card_uid\nS1,Ann,1A,1,student,AA\nS1,Bob,1A,1,student,BB\n"), 0o600)
	out, err := exec.Command(bin, "roster", "import", "-config", cfg, bad).CombinedOutput()
	if code := exitCodeOf(t, err); code == 0 || !strings.Contains(string(out), `bad.csv:3: column 1 id: "S1" is also on line 2`) {
		t.Fatalf("bad roster: exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(roster); err == nil {
		t.Fatal("a bad roster was kept")
	}
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("\xef\xbb\xbf学号,姓名,班级,年级,角色,卡号\nS1,王小明,一(1)班,1,学生,04A1\n"), 0o600)
	out, err = exec.Command(bin, "roster", "import", "-config", cfg, good).CombinedOutput()
	if code := exitCodeOf(t, err); code != 0 || !strings.Contains(string(out), "1 people") {
		t.Fatalf("good roster: exit %d:\n%s", code, out)
	}
	// Readable by the daemon's group, which owns the configuration's
	// directory (a root-only 0600 file stopped the packaged daemon).
	if fi, err := os.Stat(roster); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("kept roster: %v %v", fi, err)
	}
	// A later import keeps the mode the administrator chose.
	if err := os.Chmod(roster, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "roster", "import", "-config", cfg, good).CombinedOutput(); err != nil {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	if fi, err := os.Stat(roster); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept roster after a second import: %v %v", fi, err)
	}

	// A reversed range gave an empty file and exit 0 (issue #20 item 12).
	for _, format := range []string{"csv", "xlsx", "jsonl"} {
		reversed := filepath.Join(dir, "reversed."+format)
		out, err = exec.Command(bin, "export", "-config", cfg, "-from", "2026-12-05", "-to", "2026-12-01", "-format", format, "-o", reversed).CombinedOutput()
		if code := exitCodeOf(t, err); code != exitUsage || !strings.Contains(string(out), "before -from") {
			t.Errorf("export -format %s with -to before -from: exit %d, want %d:\n%s", format, code, exitUsage, out)
		}
		if _, err := os.Stat(reversed); err == nil {
			t.Errorf("export -format %s with -to before -from wrote %s", format, reversed)
		}
	}
	out, err = exec.Command(bin, "export", "-config", cfg, "-from", "2026-11-01", "-to", "2026-11-30").CombinedOutput()
	if code := exitCodeOf(t, err); code != 0 || !strings.HasPrefix(string(out), "\xef\xbb\xbf") {
		t.Fatalf("export of an empty store: exit %d:\n%q", code, out)
	}
	out, err = exec.Command(bin, "report", "-config", cfg, "-date", "2026-11-23").CombinedOutput()
	if code := exitCodeOf(t, err); code == 0 || !strings.Contains(string(out), "no report stored for 2026-11-23") {
		t.Fatalf("report without one: exit %d:\n%s", code, out)
	}
	out, err = exec.Command(bin, "drill", "-config", cfg, "-lane", "lane-1").CombinedOutput()
	if code := exitCodeOf(t, err); code == 0 || !strings.Contains(string(out), "no gatescreen daemon is running") {
		t.Fatalf("drill without a daemon: exit %d:\n%s", code, out)
	}
	out, err = exec.Command(bin, "calibrate", "-config", cfg, "-device", "gun-1", "-undo").CombinedOutput()
	if code := exitCodeOf(t, err); code == 0 || !strings.Contains(string(out), "no gatescreen daemon is running") {
		t.Fatalf("calibrate -undo without a daemon: exit %d:\n%s", code, out)
	}
	out, err = exec.Command(bin, "calibrate", "-config", cfg, "-device", "gun-1", "-undo", "-reference", "37").CombinedOutput()
	if code := exitCodeOf(t, err); code != exitUsage {
		t.Fatalf("calibrate -undo with a reference: exit %d, want %d:\n%s", code, exitUsage, out)
	}
}

// The packaged man page documents every command `gatescreen help` lists.
func TestManPageNamesEveryCommand(t *testing.T) {
	page, err := os.ReadFile("../../scripts/package/gatescreen.1")
	if err != nil {
		t.Fatal(err)
	}
	for name := range commands {
		roff := strings.ReplaceAll(name, "-", `\-`)
		if !strings.Contains(string(page), "\n.B "+roff) {
			t.Errorf("scripts/package/gatescreen.1 has no .B entry for the command %q", name)
		}
	}
}

// `gatescreen completion bash`, sourced in a real bash, completes command
// names and each command's flags (read from the binary's own -h).
func TestBashCompletion(t *testing.T) {
	bin := binary(t)
	script, err := exec.Command(bin, "completion", "bash").Output()
	if err != nil {
		t.Fatalf("completion bash: %v", err)
	}
	complete := func(words ...string) string {
		t.Helper()
		var arr []string
		for _, w := range words {
			arr = append(arr, "'"+w+"'")
		}
		prog := string(script) + "\nCOMP_WORDS=(" + strings.Join(arr, " ") + "); COMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "; _gatescreen; echo \"${COMPREPLY[*]}\""
		cmd := exec.Command("bash", "--norc", "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := complete(bin, "check"); got != "check-config" {
		t.Errorf("gatescreen check<TAB>: %q, want check-config", got)
	}
	if got := complete(bin, "run", "-c"); got != "-config" {
		t.Errorf("gatescreen run -c<TAB>: %q, want -config", got)
	}
	if got := complete(bin, "calibrate", "-re"); got != "-reference" {
		t.Errorf("gatescreen calibrate -re<TAB>: %q, want -reference", got)
	}
	if out, err := exec.Command(bin, "completion", "zsh").CombinedOutput(); exitCodeOf(t, err) != exitUsage {
		t.Errorf("completion zsh: %v, want exit %d:\n%s", err, exitUsage, out)
	}
}

// An output file is written beside its name and renamed when whole, mode
// 0600 (a ledger names people); a failed write leaves nothing.
func TestOutputFileAppearsOnlyWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "台账.csv")
	w, done, err := output(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "half a ledger")
	if _, err := os.Stat(path); err == nil {
		t.Fatal("the file exists before it is complete")
	}
	if err := done(errors.New("store read failed")); err == nil {
		t.Fatal("done hid the failure")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed export left %v", entries)
	}
	w, done, err = output(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "a whole ledger")
	if err := done(nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the finished file: %v %v", fi, err)
	}
}
