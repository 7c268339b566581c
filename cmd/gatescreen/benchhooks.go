//go:build testhooks

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/daemon"
	"github.com/gatescreen/gatescreen/lamps"
)

// Test seams of `gatescreen run`, read from the environment so that the
// benchmarks of bench/ and scripts/bench.sh measure the real binary. None is
// set in production; each is documented in BENCHMARKS.md.
const (
	// envSimPins registers in-memory GPIO pins (lamps.RegisterSimPins) for
	// every lane with an output, so a box without GPIO drives "lamps".
	envSimPins = "GATESCREEN_SIM_PINS"
	// envLampTrace names a file (or FIFO) that gets one line
	// "<lane> <output> <on> <unix ns>" per lamp, buzzer or barrier write.
	envLampTrace = "GATESCREEN_LAMP_TRACE"
)

// lampTraceQueue bounds the lamp writes waiting for the trace writer. The
// lamp blocks when it is full rather than lose a line the benchmark waits
// for; at 4 writes per frame that takes over a thousand frames in flight.
const lampTraceQueue = 4096

// lampWrite is one traced lamp write.
type lampWrite struct {
	lane, output string
	on           bool
	at           int64
}

// benchHooks applies the test seams set in the environment to o. The
// returned stop flushes and closes what they opened; call it after the
// daemon returned.
func benchHooks(cfg *config.Config, o *daemon.Opts) (stop func(), err error) {
	stop = func() {}
	if os.Getenv(envSimPins) != "" {
		for _, l := range cfg.Lanes {
			if l.Output == "" {
				continue
			}
			if _, err := lamps.RegisterSimPins(l.Name); err != nil {
				return stop, fmt.Errorf("%s: %w", envSimPins, err)
			}
		}
	}
	if path := os.Getenv(envLampTrace); path != "" {
		// O_APPEND without O_CREATE would fail on a missing file; a FIFO
		// made by the reader is opened as it is.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return stop, fmt.Errorf("%s: %w", envLampTrace, err)
		}
		writes := make(chan lampWrite, lampTraceQueue)
		done := make(chan struct{})
		// The lamp's goroutine only queues the write: the file's syscalls
		// must not sit between a frame and the next lamp.
		go func() {
			defer close(done)
			w := bufio.NewWriter(f)
			var line []byte
			for lw := range writes {
				line = append(line[:0], lw.lane...)
				line = append(line, ' ')
				line = append(line, lw.output...)
				line = append(line, ' ')
				line = strconv.AppendBool(line, lw.on)
				line = append(line, ' ')
				line = strconv.AppendInt(line, lw.at, 10)
				line = append(line, '\n')
				_, _ = w.Write(line)
				if len(writes) == 0 {
					_ = w.Flush()
				}
			}
			_ = w.Flush()
		}()
		observe := o.LampChange
		o.LampChange = func(lane, output string, on bool, at time.Time) {
			writes <- lampWrite{lane, output, on, at.UnixNano()}
			if observe != nil {
				observe(lane, output, on, at)
			}
		}
		stop = func() {
			close(writes)
			<-done
			_ = f.Close()
		}
	}
	return stop, nil
}
