//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/localapi"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/internal/testkit/testbinary"
)

// long bounds every wait: generous, never a speed target.
const long = 60 * time.Second

var binPath string

// TestMain builds the real binary once for the whole suite, unless
// GATESCREEN_E2E_BIN names one already built (a release candidate, or a
// build from a clean checkout while the tree is being edited).
func TestMain(m *testing.M) {
	if bin := os.Getenv("GATESCREEN_E2E_BIN"); bin != "" {
		binPath = bin
		os.Exit(m.Run())
	}
	gatescreen := &testbinary.Binary{Package: "../cmd/gatescreen", Flags: []string{"-tags", "testhooks"}}
	var err error
	if binPath, err = gatescreen.Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	gatescreen.Remove()
	districtBin.Remove()
	for _, box := range vmBoxes {
		box.bin.Remove()
	}
	os.Exit(code)
}

// waitFor polls cond until it holds or long has passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, long, what, cond)
}

// consumer is a district consumer subscribed to gatescreen/v1/#: it keeps
// every payload and counts deliveries per event id.
type consumer struct {
	mu       sync.Mutex
	ids      map[string]int             // deliveries per event id
	first    map[string]json.RawMessage // the first copy of each event
	conflict []string                   // ids delivered with different contents
	payloads [][]byte                   // every payload, for the privacy grep
	topics   map[string]int             // messages per topic suffix
	health   []healthMsg
	status   []statusMsg
}

type healthMsg struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Component string `json:"component"`
	Device    string `json:"device"`
	State     string `json:"state"`
	Reason    string `json:"reason"`
}

type statusMsg struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// eventObj is the part of an uploaded event object the tests look at.
type eventObj struct {
	ID             string   `json:"id"`
	Seq            uint64   `json:"seq"`
	Kind           string   `json:"kind"`
	CapturedAt     string   `json:"captured_at"`
	ClockSynced    bool     `json:"clock_synced"`
	ClockCorrected bool     `json:"clock_corrected"`
	Verdict        string   `json:"verdict"`
	Reason         string   `json:"reason"`
	Device         string   `json:"device"`
	Lane           string   `json:"lane"`
	RawC           *float64 `json:"raw_c"`
	BodyC          *float64 `json:"body_c"`
	FromSeq        uint64   `json:"from_seq"`
	ToSeq          uint64   `json:"to_seq"`
	Count          uint64   `json:"count"`
	Ticket         string   `json:"ticket"`
	State          string   `json:"state"`
	Person         string   `json:"person"`
}

func newConsumer() *consumer {
	return &consumer{ids: map[string]int{}, first: map[string]json.RawMessage{}, topics: map[string]int{}}
}

func (c *consumer) handle(_ paho.Client, m paho.Message) { c.record(m.Topic(), m.Payload()) }

func (c *consumer) record(topic string, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.payloads = append(c.payloads, slices.Clone(payload))
	suffix := topic[strings.LastIndexByte(topic, '/')+1:]
	c.topics[suffix]++
	switch suffix {
	case "status":
		var s statusMsg
		if json.Unmarshal(payload, &s) == nil {
			c.status = append(c.status, s)
		}
		return
	case "health":
		var h healthMsg
		if json.Unmarshal(payload, &h) == nil && h.Kind == "health" {
			c.health = append(c.health, h)
		}
	}
	var objs []json.RawMessage
	var batch struct {
		Events []json.RawMessage `json:"events"`
	}
	if json.Unmarshal(payload, &batch) == nil && batch.Events != nil {
		objs = batch.Events
	} else {
		objs = []json.RawMessage{payload}
	}
	for _, raw := range objs {
		var e struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" {
			c.ids["unparsable:"+string(raw)]++
			continue
		}
		c.ids[e.ID]++
		if prev, ok := c.first[e.ID]; !ok {
			c.first[e.ID] = slices.Clone(raw)
		} else if !bytes.Equal(prev, raw) {
			c.conflict = append(c.conflict, e.ID)
		}
	}
}

// missing returns the ids of want not received yet.
func (c *consumer) missing(want map[string]bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range want {
		if c.ids[id] == 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// missingAfter waits up to within for every id of want to arrive and
// returns those that did not. An outbox the box reports empty means the
// broker acknowledged each event, not that the consumer has it yet: its
// session may still be reconnecting, so a check must wait for delivery.
func (c *consumer) missingAfter(want map[string]bool, within time.Duration) []string {
	deadline := time.Now().Add(within)
	for {
		missing := c.missing(want)
		if len(missing) == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAllReceived fails the test unless every id of want arrives.
func waitAllReceived(t testing.TB, cons *consumer, want map[string]bool, what string) {
	t.Helper()
	if missing := cons.missingAfter(want, 3*long); len(missing) > 0 {
		t.Fatalf("%d of %d of %s never reached the consumer, e.g. %v", len(missing), len(want), what, missing[:min(10, len(missing))])
	}
}

// duplicates returns the deliveries beyond the first of every id.
func (c *consumer) duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.ids {
		n += k - 1
	}
	return n
}

func (c *consumer) conflictIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.conflict)
}

func (c *consumer) events() []eventObj {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]eventObj, 0, len(c.first))
	for _, raw := range c.first {
		var e eventObj
		if json.Unmarshal(raw, &e) == nil {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b eventObj) int { return int(a.Seq) - int(b.Seq) })
	return out
}

func (c *consumer) receivedIDs() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.ids))
	for id := range c.ids {
		out[id] = true
	}
	return out
}

// lastWills counts the retained offline statuses the broker published for
// a box that vanished without a goodbye.
func (c *consumer) lastWills() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.status {
		if s.State == "offline" && s.Reason == "connection_lost" {
			n++
		}
	}
	return n
}

func (c *consumer) allPayloads() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.payloads)
}

func (c *consumer) healthSeen(match func(healthMsg) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.health, match)
}

// districtBroker starts a district broker (plain MQTT on loopback) and a
// consumer with a persistent session on it, so the broker queues for the
// consumer whatever happens next; down leaves the broker stopped (an outage
// from the start).
func districtBroker(t testing.TB, clientID string, down bool) (*mosquittotest.Broker, *consumer) {
	t.Helper()
	port := mosquittotest.FreePort(t)
	mq := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	mq.Start()
	cons := newConsumer()
	subscribe(t, mq.URL("tcp"), clientID, nil, cons)
	if down {
		mq.Stop(syscall.SIGTERM)
	}
	return mq, cons
}

// subscribe connects the consumer with a persistent session (clean session
// false), so messages queue at the broker while it or the broker restarts.
func subscribe(t testing.TB, brokerURL, clientID string, tlsCfg *tls.Config, c *consumer) paho.Client {
	t.Helper()
	const filter = "gatescreen/v1/#"
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetConnectTimeout(5 * time.Second).
		SetOrderMatters(false).SetDefaultPublishHandler(c.handle).SetTLSConfig(tlsCfg).
		SetOnConnectHandler(func(cl paho.Client) { go cl.Subscribe(filter, 1, c.handle) })
	cl := paho.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("consumer connect %s: %v", brokerURL, tok.Error())
	}
	if tok := cl.Subscribe(filter, 1, c.handle); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	t.Cleanup(func() {
		cl.Disconnect(100)
		assertNoNames(t, c)
	})
	return cl
}

// Site of every rig: the topic prefix is gatescreen/v1/e2e-district/school-1/east.
const (
	district     = "e2e-district"
	school       = "school-1"
	gateName     = "east"
	boxID        = "school-1-east"
	doctorPIN    = "731942"
	pseudonymKey = "e2e-secret-pseudonym-key-0123456789"
	mqttPassword = "e2e-secret-mqtt-password-42"
)

// rosterNames are the people of the rig's roster; no payload may ever
// carry one.
var rosterNames = []string{"王小明", "李华", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "Alice Example", "Bob Example"}

// rig is a simulated gate (devices on pseudo-terminals in this process)
// watched by the real gatescreen binary in a child process.
type rig struct {
	t        testing.TB
	dir      string
	gates    []*sim.Gate // the last one is plugged in
	cfg      config.Config
	cfgPath  string
	links    map[string]string // device name → stable symlink to its pty
	logPath  string
	screen   string // http://127.0.0.1:port
	metrics  string // http://127.0.0.1:port/metrics
	sentMu   sync.Mutex
	sent     []sim.Person
	proc     *exec.Cmd
	procDone chan error
	env      []string
}

// newRig starts the scenario's simulated devices and writes the daemon's
// configuration; edit adjusts it (broker, storage limits, TLS).
func newRig(t testing.TB, sc *sim.Scenario, edit func(*config.Config)) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), links: map[string]string{}}
	// Cleanups run last-in first-out: the daemon (registered at the end)
	// stops before its devices disappear.
	g := r.startGate(sc)
	devDir := filepath.Join(r.dir, "dev")
	if err := os.MkdirAll(devDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Site = config.Site{District: district, School: school, Gate: gateName, Timezone: "Asia/Shanghai", BoxID: boxID}
	cfg.Storage.Path = filepath.Join(r.dir, "data", "events.db")
	cfg.Storage.CommitInterval = 50 * time.Millisecond
	if err := os.MkdirAll(filepath.Dir(cfg.Storage.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.Uplink.PseudonymKeyFile = r.secret("pseudonym.key", pseudonymKey)
	cfg.Uplink.Timeout = 3 * time.Second
	cfg.Uplink.Keepalive = 5 * time.Second
	cfg.Screen.Listen = fmt.Sprintf("127.0.0.1:%d", mosquittotest.FreePort(t))
	cfg.Metrics.Listen = fmt.Sprintf("127.0.0.1:%d", mosquittotest.FreePort(t))
	cfg.Screen.DoctorPINFile = r.secret("doctor.pin", doctorPIN)
	cfg.School.Roster = r.secret("roster.csv", rosterCSV(sc.Roster))
	// Devices open a stable symlink: a replug gives the simulated device a
	// new pseudo-terminal and the test moves the link, as udev would.
	for _, d := range g.Devices() {
		if d.Port != "" {
			link := filepath.Join(devDir, d.Name)
			if err := os.Symlink(d.Port, link); err != nil {
				t.Fatal(err)
			}
			r.links[d.Name] = link
			d.Port = link
		}
		cfg.Devices = append(cfg.Devices, d)
	}
	for _, l := range sc.Lanes() {
		cfg.Lanes = append(cfg.Lanes, config.Lane{Name: l.Name, Role: l.Role, Device: l.Device, Badge: l.Badge})
	}
	if edit != nil {
		edit(&cfg)
	}
	r.cfg = cfg
	r.screen = "http://" + cfg.Screen.Listen
	r.metrics = "http://" + cfg.Metrics.Listen + "/metrics"
	r.writeConfig()
	r.logPath = filepath.Join(r.dir, "daemon.log")
	t.Cleanup(r.stopQuietly)
	return r
}

// startGate runs a simulated gate whose people join the truth of Sent.
func (r *rig) startGate(sc *sim.Scenario) *sim.Gate {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g, err := sim.Start(ctx, sc, sim.Opts{SentBuffer: 1 << 16})
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case p := <-g.Sent():
				r.sentMu.Lock()
				r.sent = append(r.sent, p)
				r.sentMu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	r.t.Cleanup(func() {
		cancel()
		g.Close()
		close(stop)
		<-done
	})
	r.gates = append(r.gates, g)
	return g
}

// switchGate moves every serial device to a fresh simulated gate: the new
// gate starts, each device's symlink moves to its new pseudo-terminal and
// the old gate's devices are unplugged, so the daemon sees every port hang
// up and reopens it on the new gate (a device power-cycled).
func (r *rig) switchGate(sc *sim.Scenario) {
	r.t.Helper()
	old := r.gates[len(r.gates)-1]
	g := r.startGate(sc)
	for _, d := range g.Devices() {
		if link, ok := r.links[d.Name]; ok && d.Port != "" {
			relink(r.t, link, d.Port)
		}
	}
	for name := range r.links {
		if err := old.Unplug(name); err != nil {
			r.t.Fatal(err)
		}
	}
}

// relink points link at target atomically.
func relink(t testing.TB, link, target string) {
	t.Helper()
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) secret(name, content string) string {
	r.t.Helper()
	path := filepath.Join(r.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return path
}

func (r *rig) writeConfig() {
	r.t.Helper()
	data, err := r.cfg.Redacted()
	if err != nil {
		r.t.Fatal(err)
	}
	r.cfgPath = filepath.Join(r.dir, "gate.yaml")
	if err := os.WriteFile(r.cfgPath, data, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// rosterCSV gives every card of the scenario a named person.
func rosterCSV(cards []string) string {
	var b strings.Builder
	b.WriteString("id,name,class,grade,role,card_uid\n")
	for i, name := range rosterNames {
		card := ""
		if i < len(cards) {
			card = cards[i]
		}
		fmt.Fprintf(&b, "S%03d,%s,一(1)班,1,student,%s\n", i+1, name, card)
	}
	return b.String()
}

// start runs `gatescreen run` and returns once its local API answers, or
// at once when wait is false (the power-cut test kills it at any moment).
func (r *rig) start(wait bool) {
	r.t.Helper()
	if r.proc != nil {
		r.t.Fatal("daemon already running")
	}
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(binPath, "run", "-config", r.cfgPath, "-log-format", "json", "-log-level", "debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), r.env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		r.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	r.proc, r.procDone = cmd, done
	if wait {
		r.waitReady()
	}
}

// waitReady waits for the screen and the local API to answer.
func (r *rig) waitReady() {
	r.t.Helper()
	sock := localapi.SocketPath(r.cfg.Storage.Path)
	waitFor(r.t, "the daemon to serve its screen and local API", func() bool {
		select {
		case err := <-r.procDone:
			r.t.Fatalf("daemon exited at start: %v\n%s", err, r.logTail(40))
		default:
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			return false
		}
		c.Close()
		resp, err := http.Get(r.screen + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// kill cuts the power: SIGKILL, no shutdown of any kind.
func (r *rig) kill() {
	r.t.Helper()
	if r.proc == nil {
		return
	}
	_ = r.proc.Process.Kill()
	<-r.procDone
	r.proc = nil
}

// stop asks for the ordered shutdown and requires exit code 0.
func (r *rig) stop() {
	r.t.Helper()
	if r.proc == nil {
		return
	}
	_ = r.proc.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.procDone:
		r.proc = nil
		if err != nil {
			r.t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, r.logTail(40))
		}
	case <-time.After(long):
		r.kill()
		r.t.Fatalf("daemon did not stop within %v of SIGTERM", long)
	}
}

func (r *rig) stopQuietly() {
	if r.proc == nil {
		return
	}
	_ = r.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.procDone:
	case <-time.After(long):
		_ = r.proc.Process.Kill()
		<-r.procDone
	}
	r.proc = nil
}

// alive reports whether the daemon process is still running.
func (r *rig) alive() bool {
	if r.proc == nil {
		return false
	}
	select {
	case err := <-r.procDone:
		r.procDone <- err
		return false
	default:
		return true
	}
}

func (r *rig) logText() string {
	b, _ := os.ReadFile(r.logPath)
	return string(b)
}

func (r *rig) logTail(n int) string { return lastLines(r.logText(), n) }

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// gate is the simulated gate now plugged in.
func (r *rig) gate() *sim.Gate { return r.gates[len(r.gates)-1] }

// sentPeople returns the simulator's truth so far.
func (r *rig) sentPeople() []sim.Person {
	r.sentMu.Lock()
	defer r.sentMu.Unlock()
	return slices.Clone(r.sent)
}

// unplug disconnects a serial device of the current gate and removes its
// symlink, as udev removes /dev/serial/by-id links. A link left pointing at
// the closed /dev/pts/N would let the daemon's reopen land on whatever
// pseudo-terminal the kernel hands out next under that number, another
// program's included. That is the likeliest cause of a run that once
// counted 134,636 readings for some 10,000 people while benchmarks on the
// same machine streamed into pseudo-terminals at 115200 baud.
func (r *rig) unplug(name string) {
	r.t.Helper()
	if err := r.gate().Unplug(name); err != nil {
		r.t.Fatal(err)
	}
	if link, ok := r.links[name]; ok {
		if err := os.Remove(link); err != nil {
			r.t.Fatal(err)
		}
	}
}

// replug plugs a device back on a new pseudo-terminal and moves its
// symlink, as udev would.
func (r *rig) replug(name string) {
	r.t.Helper()
	if err := r.gate().Replug(name); err != nil {
		r.t.Fatal(err)
	}
	path, err := r.gate().Path(name)
	if err != nil {
		r.t.Fatal(err)
	}
	relink(r.t, r.links[name], path)
}

// storedIDs opens the stopped daemon's bbolt file read-only and returns the
// id of every event in it: durable by definition.
func (r *rig) storedIDs() map[string]bool {
	r.t.Helper()
	return storeIDsOf(r.t, r.cfg.Storage.Path, r.cfg.Site.BoxID)
}

// storeIDs returns the id of every event in the bbolt file at path, which
// no process has open; none when the file does not exist.
func storeIDs(t testing.TB, path string) map[string]bool {
	t.Helper()
	return storeIDsOf(t, path, boxID)
}

// storeIDsOf is storeIDs for the store of box.
func storeIDsOf(t testing.TB, path, box string) map[string]bool {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return map[string]bool{} // killed before the store was created
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("opening the store %s: %v", path, err)
	}
	defer db.Close()
	ids := map[string]bool{}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("events"))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("event key %x is not a sequence", k)
			}
			ids[fmt.Sprintf("%s:%d", box, binary.BigEndian.Uint64(k))] = true
			return nil
		})
	})
	if err != nil {
		t.Fatalf("reading the store %s: %v", path, err)
	}
	return ids
}

// getJSON fetches a screen URL and decodes its JSON.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// figures prints one summary line per test for docs/RELIABILITY.md.
func figures(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURES %s: "+format, append([]any{t.Name()}, args...)...)
}

// outboxDepth reads the daemon's outbox depth (priority + bulk) from its
// /metrics.
func (r *rig) outboxDepth() (int, bool) {
	resp, err := http.Get(r.metrics)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	total, found := 0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gatescreen_outbox_depth{") {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			total += int(v)
			found = true
		}
	}
	return total, found
}

// waitDrained waits until the daemon's outbox is empty.
func (r *rig) waitDrained() {
	r.t.Helper()
	deadline := time.Now().Add(3 * long)
	for {
		n, ok := r.outboxDepth()
		if ok && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("outbox still holds %d events after %v", n, 3*long)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count returns how many distinct events were received.
func (c *consumer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

// topicCount is how many messages arrived on topics ending in suffix.
func (c *consumer) topicCount(suffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topics[suffix]
}
