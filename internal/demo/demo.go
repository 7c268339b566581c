package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/internal/broker"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/daemon"
	"github.com/gatescreen/gatescreen/internal/localapi"
	"github.com/gatescreen/gatescreen/internal/logging"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/lamps"
	"github.com/gatescreen/gatescreen/sync/clock"
)

// Opts configures Run. Zero values take the documented defaults.
type Opts struct {
	// DataDir keeps the store, the generated configuration and its secret
	// files; "" uses a temporary directory removed at exit.
	DataDir string
	// Listen is the screen's address; default 127.0.0.1:8080.
	Listen string
	// MQTT is the embedded broker's address; default 127.0.0.1:1883 (a
	// free port when that one is taken).
	MQTT string
	// Scenario drives the simulated gate; default sim.DefaultScenario().
	Scenario *sim.Scenario
	// Lang of the screen: zh-CN (default) or en.
	Lang    string
	Version string
	Logger  zerolog.Logger
	// Out receives the lines telling a person where to look.
	Out io.Writer
	// Ready, when set, is called once the gate runs.
	Ready func(Info)
	// Clock is the daemon's clock (daemon.Opts.Clock); nil: the system's.
	Clock *clock.Clock
}

// Info tells where the running demo can be watched.
type Info struct {
	daemon.Info
	Broker string // host:port of the embedded broker
	Config string // path of the generated configuration
	PIN    string
}

// DemoPIN is the doctor's PIN of the demo screen, DemoTeacherPIN the
// class teachers'.
const (
	DemoPIN        = "1234"
	DemoTeacherPIN = "5678"
)

// Run runs the demo until ctx is done.
func Run(ctx context.Context, o Opts) error {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8080"
	}
	if o.MQTT == "" {
		o.MQTT = "127.0.0.1:1883"
	}
	if o.Scenario == nil {
		o.Scenario = sim.DefaultScenario()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	log := o.Logger
	dir, cleanup, err := dataDir(o.DataDir)
	if err != nil {
		return err
	}
	defer cleanup()
	mq, err := startBroker(o.MQTT, log)
	if err != nil {
		return err
	}
	defer mq.Close()
	if o.Listen, err = screenAddr(o.Listen, log); err != nil {
		return err
	}

	// The simulated gate outlives the daemon so the daemon sees no unplug
	// while it shuts down.
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	gate, err := sim.Start(simCtx, o.Scenario, sim.Opts{Logger: logging.Component(log, "sim")})
	if err != nil {
		return err
	}
	defer gate.Close()

	cfg, cfgPath, err := writeConfig(dir, o, gate, mq.URL())
	if err != nil {
		return err
	}
	secrets, err := cfg.ReadSecrets()
	if err != nil {
		return err
	}
	return daemon.Run(ctx, daemon.Opts{
		Config:     cfg,
		ConfigPath: cfgPath,
		Secrets:    secrets,
		Version:    o.Version,
		Logger:     log,
		Clock:      o.Clock,
		Open:       simOpener(gate),
		Ready: func(di daemon.Info) {
			info := Info{Info: di, Broker: mq.Addr(), Config: cfgPath, PIN: DemoPIN}
			printWelcome(o.Out, info)
			go drillSoon(ctx, di.Socket, cfg.Lanes[0].Name, log)
			if o.Ready != nil {
				o.Ready(info)
			}
		},
	})
}

// dataDir is the demo's data directory: dir, made if missing, or a
// temporary one that cleanup removes.
func dataDir(dir string) (_ string, cleanup func(), err error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", nil, fmt.Errorf("demo: data directory: %w", err)
		}
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "gatescreen-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("demo: data directory: %w", err)
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// startBroker starts the embedded broker at addr, or at a free port when
// that one is taken.
func startBroker(addr string, log zerolog.Logger) (*broker.Broker, error) {
	mq, err := broker.Start(addr)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) {
		log.Warn().Str("addr", addr).Msg("MQTT port taken; the demo broker takes a free one")
		mq, err = broker.Start("127.0.0.1:0")
	}
	return mq, err
}

// screenAddr is the screen's address: addr, or a free port when that one
// is taken.
func screenAddr(addr string, log zerolog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if !errors.Is(err, syscall.EADDRINUSE) {
			return "", fmt.Errorf("demo: screen address %s: %w", addr, err)
		}
		log.Warn().Str("addr", addr).Msg("screen port taken; the demo screen takes a free one")
		return "127.0.0.1:0", nil
	}
	ln.Close()
	return addr, nil
}

// simOpener opens each simulated serial device at its current
// pseudo-terminal (a replug gives a new one) and leaves I²C to the default
// (the simulated bus is registered with periph's i2creg).
func simOpener(gate *sim.Gate) func(drivers.Device, drivers.Driver) func(context.Context) (drivers.Conn, io.Closer, error) {
	return func(dev drivers.Device, drv drivers.Driver) func(context.Context) (drivers.Conn, io.Closer, error) {
		if drv.Transport != drivers.Serial {
			return nil
		}
		return func(context.Context) (drivers.Conn, io.Closer, error) {
			path, err := gate.Path(dev.Name)
			if err != nil {
				return drivers.Conn{}, nil, err
			}
			port, closer, err := runner.OpenSerial(path, dev.Baud)
			return drivers.Conn{Port: port}, closer, err
		}
	}
}

// drillDelay is when the demo runs its emergency drill, so a visitor sees
// the whole re-check flow without waiting for a simulated fever.
const drillDelay = 30 * time.Second

// drillSoon runs one drill on lane through the daemon's local API, as
// `gatescreen drill` would.
func drillSoon(ctx context.Context, socket, lane string, log zerolog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(drillDelay):
	}
	q := url.Values{"lane": {lane}, "temp": {"38.4"}}
	if err := localapi.NewClient(socket).Do(ctx, "POST", "/v1/drill", q, io.Discard); err != nil && ctx.Err() == nil {
		log.Error().Err(err).Msg("demo drill")
	}
}

func printWelcome(w io.Writer, in Info) {
	host, port := splitHostPort(in.Broker)
	fmt.Fprintf(w, `
gatescreen demo — 演示模式 (simulated devices, nothing installed)
  门口屏幕 gate screen:   %s   (校医口令 doctor PIN: %s · 班主任口令 teachers' PIN: %s)
  查看上报 district view: mosquitto_sub -h %s -p %s -t 'gatescreen/v1/#' -v
  日报 daily report:      go run ./cmd/gatescreen report -config %s
  演练 drill:             one runs by itself in 30 s; another: go run ./cmd/gatescreen drill -config %s -lane lane-1
  按 Ctrl-C 停止 · Ctrl-C stops the demo

`, orNone(in.ScreenURL), in.PIN, DemoTeacherPIN, host, port, in.Config, in.Config)
}

func orNone(s string) string {
	if s == "" {
		return "(off)"
	}
	return s
}

func splitHostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, "1883"
	}
	return addr[:i], addr[i+1:]
}

// writeConfig builds the demo's configuration from the simulated gate,
// writes it and its secret files into dir and loads it back through the
// same validation as a school's own file.
func writeConfig(dir string, o Opts, gate *sim.Gate, brokerURL string) (*config.Config, string, error) {
	cfg := config.Default()
	cfg.Site = config.Site{District: "demo-district", School: "demo-school", Gate: "east-gate", Timezone: "Asia/Shanghai"}
	cfg.Storage.Path = filepath.Join(dir, "events.db")
	cfg.Uplink.Broker = brokerURL
	cfg.Uplink.PseudonymKeyFile = filepath.Join(dir, "pseudonym.key")
	cfg.Screen.Listen = o.Listen
	cfg.Metrics.Listen = "127.0.0.1:0" // a demo beside a real box or another demo: any free port
	cfg.Screen.DoctorPINFile = filepath.Join(dir, "doctor.pin")
	cfg.Screen.TeacherPINFile = filepath.Join(dir, "teacher.pin")
	if o.Lang != "" {
		cfg.Screen.Lang = o.Lang
	}
	cfg.School.Roster = filepath.Join(dir, "roster.csv")
	cfg.School.Windows = []school.Window{{Grade: "1", From: "07:20", To: "07:40"}, {Grade: "7", From: "06:20", To: "06:40"}}
	cfg.Outputs = map[string]lamps.Pins{}
	cfg.Devices = gate.Devices()

	for _, l := range o.Scenario.Lanes() {
		out, err := lamps.RegisterSimPins(l.Name)
		if err != nil {
			return nil, "", err
		}
		cfg.Outputs[l.Name] = out
		cfg.Lanes = append(cfg.Lanes, config.Lane{Name: l.Name, Role: l.Role, Device: l.Device, Badge: l.Badge, Output: l.Name})
	}
	secrets := map[string]string{
		cfg.Uplink.PseudonymKeyFile: "demo-school-pseudonym-key\n",
		cfg.Screen.DoctorPINFile:    DemoPIN + "\n",
		cfg.Screen.TeacherPINFile:   DemoTeacherPIN + "\n",
		cfg.School.Roster:           rosterCSV(o.Scenario.Roster),
	}
	for path, content := range secrets {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, "", fmt.Errorf("demo: %w", err)
		}
	}
	data, err := cfg.Redacted()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "gate.yaml")
	header := "# Written by `gatescreen demo` for this run: the simulated devices' pseudo-terminals change every run.\n"
	if err := os.WriteFile(path, append([]byte(header), data...), 0o600); err != nil {
		return nil, "", fmt.Errorf("demo: %w", err)
	}
	loaded, err := config.Load(path)
	if err != nil {
		return nil, "", fmt.Errorf("demo: the generated configuration does not validate: %w", err)
	}
	return loaded, path, nil
}

// rosterCSV makes a small school for the demo's cards: two grades, a few
// classes, one teacher, and some students without a card (they show up as
// absentees once their grade's window closes).
func rosterCSV(cards []string) string {
	cards = append([]string(nil), cards...)
	sort.Strings(cards)
	names := []string{"王小明", "李华", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴芳", "徐亮", "孙丽"}
	var b strings.Builder
	b.WriteString("id,name,class,grade,role,card_uid\n")
	for i, name := range names {
		grade, class := "1", "一(1)班"
		if i%2 == 1 {
			grade, class = "7", "初一(2)班"
		}
		card := ""
		if i < len(cards) {
			card = cards[i]
		}
		role := "student"
		if i == len(names)-1 {
			role, grade, class = "staff", "", ""
		}
		fmt.Fprintf(&b, "S%03d,%s,%s,%s,%s,%s\n", i+1, name, class, grade, role, card)
	}
	return b.String()
}
