package alert

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// Store is what the service reads and writes; *store.Store is one.
type Store interface {
	RaiseAlert(ctx context.Context, a store.NewAlert) (bool, error)
	PendingAlerts(ctx context.Context, now time.Time, limit int) ([]store.Alert, error)
	AlertDelivered(ctx context.Context, id int64, at time.Time) error
	AlertFailed(ctx context.Context, id int64, next time.Time, reason string) error
	// What the rules read.
	Boxes(ctx context.Context) ([]store.Box, error)
	DailyReports(ctx context.Context, day string) ([]store.StoredDaily, error)
}

// Opts configures a Service; zero fields take the documented defaults.
type Opts struct {
	Store    Store
	Schedule schedule.Schedule
	// OfflineAfter is how long a box may be offline inside school hours
	// before it raises an alert; default 10 min.
	OfflineAfter time.Duration
	// Webhook is the URL every alert is POSTed to; "" raises alerts
	// without sending them (they wait in the table).
	Webhook string
	// Client sends the webhooks; default one with a 10 s timeout.
	Client *http.Client
	// UserAgent names the sender; default gatescreen-district.
	UserAgent string
	// CheckEvery is how often the clock's rules run; default 30 s.
	CheckEvery time.Duration
	// DeliverEvery is how often undelivered alerts are looked for; default
	// 500 ms, which bounds how long a case's alert waits after its commit.
	DeliverEvery time.Duration
	// RetryMin and RetryMax bound the backoff of a failed delivery; default
	// 1 s doubling to 5 min.
	RetryMin, RetryMax time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log is the service's logger; zero is no logging.
	Log zerolog.Logger
}

// Service raises the clock's alerts and delivers all of them.
type Service struct {
	opts   Opts
	target string // the webhook for logs: scheme, host and path, no token
	log    zerolog.Logger
}

// New checks opts and makes a service; Run starts it.
func New(opts Opts) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("alert: no store")
	}
	if opts.Schedule.Loc == nil {
		return nil, errors.New("alert: no schedule")
	}
	setDefault(&opts.OfflineAfter, 10*time.Minute)
	setDefault(&opts.CheckEvery, 30*time.Second)
	setDefault(&opts.DeliverEvery, 500*time.Millisecond)
	setDefault(&opts.RetryMin, time.Second)
	setDefault(&opts.RetryMax, 5*time.Minute)
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "gatescreen-district"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{opts: opts, log: opts.Log}
	if opts.Webhook != "" {
		u, err := url.Parse(opts.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("alert: webhook %q: want an http:// or https:// URL", opts.Webhook)
		}
		s.target = u.Scheme + "://" + u.Host + u.Path
	}
	return s, nil
}

func setDefault(v *time.Duration, def time.Duration) {
	if *v <= 0 {
		*v = def
	}
}

// Run checks and delivers until ctx is cancelled, then returns nil. A
// database or receiver that fails is logged and tried again on the next
// tick: the service outlives both.
func (s *Service) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.every(ctx, s.opts.CheckEvery, func() error { _, err := s.Check(ctx, s.opts.Now()); return err }, "checking the rules")
	}()
	if s.opts.Webhook != "" {
		s.every(ctx, s.opts.DeliverEvery, func() error { _, err := s.Deliver(ctx); return err }, "delivering alerts")
	} else {
		s.log.Warn().Msg("no webhook: alerts are raised and kept, not sent")
	}
	<-done
	return nil
}

// every runs f at once and then every d until ctx is cancelled.
func (s *Service) every(ctx context.Context, d time.Duration, f func() error, what string) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		if err := f(); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg(what)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
