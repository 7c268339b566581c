package screen_test

import (
	"context"
	"net"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/metrics"
	"github.com/gatescreen/gatescreen/screen"
)

// The daemon's wiring: the screen is a pipeline sink, the case desk's
// transitions and health events are pushed to it; /metrics is served by
// reg on a listener of its own.
func Example() {
	cfg := config.Default()
	cfg.Lanes = []config.Lane{{Name: "A", Label: "1号通道", Role: config.RoleStudent, Device: "gun-a"}}
	log := zerolog.Nop()

	reg, err := metrics.New(metrics.Opts{Lanes: []string{"A"}})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	var pin []byte // screen.LoadPIN(cfg.Screen.DoctorPINFile) when configured
	s, err := screen.New(screen.Opts{
		Lanes:          []screen.Lane{{Name: "A", Label: "1号通道", Role: config.RoleStudent, Device: "gun-a"}}, // from cfg.Lanes
		Devices:        []string{"gun-a"},
		Desk:           nil, // the pipeline's *pipeline.Cases
		DoctorPIN:      pin,
		Lang:           cfg.Screen.Lang,
		MaxAttempts:    cfg.Screen.MaxAttempts,
		Lockout:        cfg.Screen.Lockout,
		RecheckOverdue: cfg.Screening.RecheckOverdue,
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
	ln, err := net.Listen("tcp", cfg.Screen.Listen)
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	go func() { _ = s.Serve(ctx, ln) }()
	mln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	_ = reg.Serve(ctx, mln)
}
