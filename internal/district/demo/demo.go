package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/broker"
	"github.com/gatescreen/gatescreen/internal/district/alert"
	"github.com/gatescreen/gatescreen/internal/district/ingest"
	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/simbox"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/district/web"
	"github.com/gatescreen/gatescreen/internal/logging"
)

// The demo's accounts.
const (
	BureauUser, BureauPassword = "bureau", "demo-bureau-2026"
	CDCUser, CDCPassword       = "cdc", "demo-cdc-2026"
	// District is the demo's district, MissingSchool the school that never
	// sends its zero report, OfflineBox the box whose connection drops.
	District      = "hd"
	MissingSchool = "hd04"
	OfflineBox    = "hd05-main"
)

// Opts configures Run; zero fields take the defaults.
type Opts struct {
	// Listen is the screen's address; default 127.0.0.1:8080, or a free
	// port when that one is taken.
	Listen string
	// Out receives the lines telling a person where to look.
	Out io.Writer
	// Log is the demo's logger; zero is no logging.
	Log zerolog.Logger
	// Ready, when set, is called once the screen serves.
	Ready func(Info)
}

// Info tells where the running demo is.
type Info struct {
	URL      string // the district screen
	Broker   string // host:port of the embedded broker
	Deadline string // HH:MM, district time: 漏报 shows from then on
	DataDir  string
}

// Run runs the demo until ctx is done.
func Run(ctx context.Context, o Opts) error {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8080"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	log := o.Log
	dir, err := os.MkdirTemp("", "gatescreen-district-demo-")
	if err != nil {
		return fmt.Errorf("demo: data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "district.db"), store.Opts{Log: logging.Component(log, "store")})
	if err != nil {
		return err
	}
	defer st.Close()
	mq, err := broker.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer mq.Close()

	// The deadline a minute or two ahead, so that the reports sent now are
	// in time and the missing one turns 漏报 while one watches.
	now := time.Now()
	sched, deadline, err := demoSchedule(now, dir)
	if err != nil {
		return err
	}
	if err := addUsers(ctx, st, now); err != nil {
		return err
	}
	in, err := ingest.New(ingest.Opts{Broker: mq.URL(), District: District, Group: "demo", ClientID: "demo-ingest",
		Store: st, Log: logging.Component(log, "ingest")})
	if err != nil {
		return err
	}
	alerts, err := alert.New(alert.Opts{Store: st, Schedule: sched, OfflineAfter: time.Minute, CheckEvery: 5 * time.Second,
		Log: logging.Component(log, "alert")})
	if err != nil {
		return err
	}
	screen, err := web.New(web.Opts{Store: st, Schedule: sched, Log: logging.Component(log, "web")})
	if err != nil {
		return err
	}
	ln, err := listen(o.Listen, log)
	if err != nil {
		return err
	}

	errs := make(chan error, 4)
	go func() { errs <- in.Run(ctx) }()
	select {
	case <-in.Ready():
	case err := <-errs:
		ln.Close()
		return err
	case <-time.After(30 * time.Second):
		ln.Close()
		return errors.New("demo: the ingester did not subscribe within 30 s")
	}
	go func() { errs <- alerts.Run(ctx) }()
	go func() { errs <- screen.Serve(ctx, ln) }()
	go func() { errs <- simulate(ctx, mq.URL(), sched, now, log) }()

	info := Info{URL: "http://" + ln.Addr().String() + "/", Broker: mq.Addr(), Deadline: deadline, DataDir: dir}
	fmt.Fprintf(o.Out, `
gatescreen-district demo — 区县演示 (the embedded broker, 6 simulated boxes, SQLite, nothing installed)
  区县屏幕 district screen: %s
  教育局 bureau:            %s / %s
  疾控联络员 CDC liaison:   %s / %s
  日报截止 report deadline: %s — %s 未报零报告 misses its zero report: 漏报 from then on
  MQTT:                     mosquitto_sub -h 127.0.0.1 -p %s -t 'gatescreen/v1/#' -v
  按 Ctrl-C 停止 · Ctrl-C stops the demo

`, info.URL, BureauUser, BureauPassword, CDCUser, CDCPassword, deadline, MissingSchool, mq.Addr()[len("127.0.0.1:"):])
	if o.Ready != nil {
		o.Ready(info)
	}
	// The first to stop (ctx, or a failure) stops the others.
	var first error
	for i := 0; i < 4; i++ {
		err := <-errs
		if err != nil && ctx.Err() == nil && first == nil {
			first = err
		}
		cancel()
	}
	return first
}

// demoSchedule is the district's calendar with the deadline at the start
// of the minute after next, school hours all day (the offline alert shows
// whenever the demo runs), and today a school day by a calendar file in
// dir: on a Saturday or a holiday no report would be owed, and the
// missing one would show nothing.
func demoSchedule(now time.Time, dir string) (schedule.Schedule, string, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return schedule.Schedule{}, "", fmt.Errorf("demo: %w", err)
	}
	local := now.In(loc)
	dl := local.Truncate(time.Minute).Add(2 * time.Minute).Format("15:04")
	cal := filepath.Join(dir, "calendar.txt")
	if err := os.WriteFile(cal, []byte(local.Format(schedule.DayFormat)+" school 演示日 the demo's day\n"), 0o644); err != nil {
		return schedule.Schedule{}, "", fmt.Errorf("demo: %w", err)
	}
	s, err := schedule.New(schedule.Opts{TimeZone: "Asia/Shanghai", Deadline: dl, SchoolHours: "00:00-23:59", Calendar: cal})
	return s, dl, err
}

func addUsers(ctx context.Context, st *store.Store, now time.Time) error {
	for _, u := range [][3]string{{BureauUser, store.RoleBureau, BureauPassword}, {CDCUser, store.RoleCDC, CDCPassword}} {
		h, err := web.HashPassword(u[2])
		if err != nil {
			return err
		}
		if err := st.AddUser(ctx, store.User{Name: u[0], Role: u[1], PasswordHash: h}, now); err != nil {
			return err
		}
	}
	return nil
}

// listen listens on addr, or on a free loopback port when addr is taken.
func listen(addr string, log zerolog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) {
		log.Warn().Str("addr", addr).Msg("screen port taken; the demo screen takes a free one")
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("demo: screen address %s: %w", addr, err)
	}
	return ln, nil
}

// simulate runs the boxes: 13 days of reports behind them (school days,
// the day before apart: a report sent today for it would be late), this
// morning's readings and reports, two re-check cases that move on, a
// device fault, a calibration worth a look, a clock a year off, a backlog,
// a box whose connection drops, and hd04 that sends nothing today.
func simulate(ctx context.Context, broker string, sched schedule.Schedule, now time.Time, log zerolog.Logger) error {
	rng := rand.New(rand.NewPCG(2026, 23))
	mk := func(school, gate string) *box {
		return &box{Box: &simbox.Box{District: District, School: school, Gate: gate, ID: school + "-" + gate, BootID: fmt.Sprintf("demo-%s-%s", school, gate), Version: "0.1.0-demo"}}
	}
	e1, w1, m2, m3, m4, m5 := mk("hd01", "east"), mk("hd01", "west"), mk("hd02", "main"), mk("hd03", "main"), mk("hd04", "main"), mk("hd05", "main")
	all := []*box{e1, w1, m2, m3, m4, m5}
	for _, b := range all {
		if err := b.connect(broker, now.Add(-3*time.Hour)); err != nil {
			return err
		}
	}
	defer func() {
		for _, b := range all {
			if b.client.IsConnected() {
				b.client.Disconnect(100)
			}
		}
	}()

	today := sched.Day(now)
	start, _, _ := sched.Bounds(today)
	for back := 13; back >= 2; back-- {
		day := sched.Day(start.AddDate(0, 0, -back))
		if !sched.SchoolDay(day) {
			continue
		}
		for _, b := range all {
			c := store.Counts{}
			if b != m3 {
				c.Total = int64(350 + rng.IntN(200))
				c.Flag = int64(rng.IntN(4))
				c.Retake = int64(rng.IntN(6))
				c.Pass = c.Total - c.Flag - c.Retake
			}
			if err := b.daily(day, now, c, nil); err != nil {
				return err
			}
		}
	}

	from := now.Add(-2 * time.Hour)
	if from.Before(start) {
		from = start
	}
	to := now.Add(-time.Minute)
	// hd01 east: a fever flagged, re-checked and referred to the CDC below.
	evs, c := e1.Morning(from, to, 420, []string{"R-001"}, rng)
	if err := publishDay(e1, evs, today, now, c, map[string]int{"referred": 1}, false); err != nil {
		return err
	}
	// hd01 west: one reading from before NTP synced, a year off; a
	// calibration with a large offset.
	evs, c = w1.Morning(from, to, 380, nil, rng)
	evs[100]["captured_at"], evs[100]["clock_synced"] = simbox.Stamp(from.AddDate(-1, 0, 0)), false
	if err := w1.single("health", w1.Event("calibration", from, true, map[string]any{"calibration_id": 1, "device": "ir-1",
		"reference_c": 37.0, "samples": []float64{36.38, 36.4, 36.36}, "mean_c": 36.38, "spread_c": 0.04, "offset_c": 0.62,
		"at": simbox.Stamp(from)})); err != nil {
		return err
	}
	if err := publishDay(w1, evs, today, now, c, nil, false); err != nil {
		return err
	}
	// hd02: a device fault, then, as a box with a backlog does, the urgent
	// events (its report) before the readings, the newest 15 minutes old.
	if err := m2.single("health", m2.Event("health", now.Add(-20*time.Minute), true, map[string]any{"component": "device",
		"device": "ir-3", "state": "down", "reason": "no frames for 30s"})); err != nil {
		return err
	}
	evs, c = m2.Morning(from, now.Add(-15*time.Minute), 510, []string{"R-001"}, rng)
	if err := publishDay(m2, evs, today, now, c, map[string]int{"referred": 1}, true); err != nil {
		return err
	}
	// hd03: nobody screened: a zero report.
	if err := m3.daily(today, now, store.Counts{}, nil); err != nil {
		return err
	}
	// hd04: nothing today. hd05: readings and a report, then its
	// connection drops.
	evs, c = m5.Morning(from, to, 300, nil, rng)
	if err := publishDay(m5, evs, today, now, c, nil, false); err != nil {
		return err
	}
	log.Info().Msg("demo boxes: the morning is in")

	opened := to.Add(-30 * time.Minute)
	steps := []struct {
		after time.Duration
		do    func() error
	}{
		{0, func() error {
			return e1.caseStep(ctx, today, "R-001", "", "awaiting_recheck", "", 38.1, 0, opened, now)
		}},
		{0, func() error {
			return m2.caseStep(ctx, today, "R-001", "", "awaiting_recheck", "", 37.7, 0, opened, now)
		}},
		{15 * time.Second, func() error {
			return e1.caseStep(ctx, today, "R-001", "awaiting_recheck", "confirmed", "", 38.1, 37.9, opened, time.Now())
		}},
		{20 * time.Second, func() error {
			return m2.caseStep(ctx, today, "R-001", "awaiting_recheck", "confirmed", "", 37.7, 37.6, opened, time.Now())
		}},
		{25 * time.Second, func() error { m5.drop(); return nil }},
		{30 * time.Second, func() error {
			return e1.caseStep(ctx, today, "R-001", "confirmed", "referred", "cdc_transfer", 38.1, 37.9, opened, time.Now())
		}},
		{35 * time.Second, func() error {
			return m2.caseStep(ctx, today, "R-001", "confirmed", "referred", "parent_fever_clinic", 37.7, 37.6, opened, time.Now())
		}},
	}
	begin := time.Now()
	for _, s := range steps {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(begin.Add(s.after))):
		}
		if err := s.do(); err != nil {
			return err
		}
	}
	// Then the east gate goes on screening latecomers, a few at a time.
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tick.C:
			if err := e1.readings([]map[string]any{e1.Reading(t, true, "pass", "", rng)}); err != nil {
				return err
			}
		}
	}
}

// publishDay publishes a box's readings and its day's report: the report
// after them, or (backlog) before them, as a box whose backlog drains
// after its urgent events does.
func publishDay(b *box, evs []map[string]any, day string, now time.Time, c store.Counts, cases map[string]int, backlog bool) error {
	if backlog {
		if err := b.daily(day, now, c, cases); err != nil {
			return err
		}
		return b.readings(evs)
	}
	if err := b.readings(evs); err != nil {
		return err
	}
	return b.daily(day, now, c, cases)
}
