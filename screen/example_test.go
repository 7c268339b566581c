package screen_test

import (
	"context"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/metrics"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/screen"
)

// The daemon's wiring: the screen is a pipeline sink, the case desk's
// transitions and health events are pushed to it; /metrics is served by
// reg on a listener of its own.
func Example() {
	// The daemon describes the devices and lanes once, from the
	// configuration, and gives the same description to every part.
	devices := []pipeline.DeviceInfo{{Name: "gun-a"}}
	lanes := []pipeline.Lane{{Name: "A", Label: "1号通道", Role: event.RoleStudent, Device: 0, Badge: -1}}
	log := zerolog.Nop()

	reg, err := metrics.New(metrics.Opts{Lanes: lanes})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	var pin []byte // screen.LoadPIN(screen.doctor_pin_file) when configured
	s, err := screen.New(screen.Opts{
		Lanes:          lanes,
		Devices:        devices,
		Desk:           nil, // the pipeline's *pipeline.Cases
		DoctorPIN:      pin,
		Lang:           "zh-CN",
		MaxAttempts:    5,
		Lockout:        5 * time.Minute,
		RecheckOverdue: 10 * time.Minute,
		Logger:         log,
	})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	// Pipeline sinks: s and reg. pipeline.CasesOpts.OnChange: s.CaseChanged.
	// Health events: s.Health and reg.Health. Uplink: s.SetUplink.
	// Opts.Driller: the daemon's drill; Opts.Visitors: the *storage.Store.
	// After each grade's window and at the daily report: s.SetAbsentees
	// (from school.Tally.Absentees) and s.SetDaily (the report).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	go func() { _ = s.Serve(ctx, ln) }()
	mln, err := net.Listen("tcp", "127.0.0.1:9464")
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	_ = reg.Serve(ctx, mln)
}
