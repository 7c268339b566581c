// Package runner supervises one configured device for the daemon: it opens
// the port or bus, runs the driver's Source on it, stamps and forwards every
// reading, and when the device disappears (unplugged, port closed, read
// error) closes it and opens it again with capped, jittered exponential
// backoff, for as long as the daemon runs. A device never stops the daemon.
//
// The runner reports the device's health once per change: up when the port
// opened, down when it failed, degraded when the share of invalid frames
// over a window is too high or, for streaming devices, when nothing at all
// arrived for a while. Repeated identical errors are logged at most once per
// ten seconds, with a count of the ones left out.
//
// The daemon starts one Run per configured device, roughly:
//
//	drv, _ := drivers.Lookup(dev.Driver)
//	o := runner.Opts{Device: dev, Driver: drv, Index: uint16(i),
//		Open: runner.SerialOpener(dev, drv), Emit: producer.Emit,
//		Stamp: clock.Stamp, OnHealth: report, Logger: log}
//	if drv.Continuous {
//		o.SilentAfter = 5 * time.Second
//	}
//	g.Go(func() error { return runner.Run(ctx, o) })
package runner
