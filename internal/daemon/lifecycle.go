package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/rs/zerolog"
)

// lifecycle starts the daemon's parts in the order they were added and
// stops them in the reverse order, each stop returning only once its part
// has stopped: what a part needs is started before it and stopped after it.
// The run ends when its context does (a clean shutdown, nil) or when a part
// fails (that error; the first one wins).
//
// oklog/run's Group, which Prometheus uses, runs every actor at once and
// interrupts them all together, each interrupt returning at once; the
// daemon's shutdown needs each part gone before the next one stops (the
// devices before the pipeline drains, the pipeline before the store
// flushes), which a Group can only express by interrupts that block on
// their own actor.
type lifecycle struct {
	log    zerolog.Logger
	parts  []part
	failed chan error // the first failure; capacity 1
}

type part struct {
	name  string
	start func() error // nil: nothing to start
	stop  func()       // nil: nothing to stop
}

func newLifecycle(log zerolog.Logger) *lifecycle {
	return &lifecycle{log: log, failed: make(chan error, 1)}
}

// add appends a part: start runs after the starts of every part added
// before it, stop before their stops. A start that fails must leave
// nothing of its own running; its stop is not called.
func (l *lifecycle) add(name string, start func() error, stop func()) {
	l.parts = append(l.parts, part{name: name, start: start, stop: stop})
}

// fail ends the run with err, unless a failure came first. nil and
// context cancellation (a part stopped on purpose) are no failures.
func (l *lifecycle) fail(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	select {
	case l.failed <- err:
	default:
	}
}

// run starts every part in order, waits until ctx ends or a part fails,
// then stops the started parts in reverse order. It returns the error of a
// start that failed, else the first failure, else nil.
func (l *lifecycle) run(ctx context.Context) error {
	started, err := l.start()
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-l.failed:
		}
	}
	for i := started - 1; i >= 0; i-- {
		if p := l.parts[i]; p.stop != nil {
			p.stop()
			l.log.Debug().Str("part", p.name).Msg("stopped")
		}
	}
	return err
}

// start starts the parts in order until one fails, and says how many
// started.
func (l *lifecycle) start() (int, error) {
	for i, p := range l.parts {
		if p.start != nil {
			if err := p.start(); err != nil {
				return i, err
			}
		}
		l.log.Debug().Str("part", p.name).Msg("started")
	}
	return len(l.parts), nil
}

// routines are goroutines that share one context: stop cancels it and
// waits until they have all returned.
type routines struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRoutines() *routines {
	r := &routines{}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// spawn runs fn on its own goroutine until the routines stop.
func (r *routines) spawn(fn func(context.Context)) {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); fn(r.ctx) }()
}

func (r *routines) stop() {
	r.cancel()
	r.wg.Wait()
}
