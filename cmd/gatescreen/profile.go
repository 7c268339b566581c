//go:build profile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"
)

// Built only with -tags profile (docs/bench/lanes.md, docs/bench/cpu.md):
// the shipped binary has none of this. GATESCREEN_TRACE=<file> writes a
// runtime execution trace, GATESCREEN_CPUPROFILE=<file> a CPU profile, both
// named <file>.<pid> and both stopped after GATESCREEN_PROFILE_FOR (a Go
// duration, default 10s), so a daemon killed later still leaves a whole file.
func init() {
	dur := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("GATESCREEN_PROFILE_FOR")); err == nil && d > 0 {
		dur = d
	}
	open := func(env string) *os.File {
		path := os.Getenv(env)
		if path == "" {
			return nil
		}
		f, err := os.Create(path + "." + strconv.Itoa(os.Getpid()))
		if err != nil {
			fmt.Fprintln(os.Stderr, "gatescreen:", env, err)
			os.Exit(1)
		}
		return f
	}
	if f := open("GATESCREEN_TRACE"); f != nil {
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, "gatescreen: trace:", err)
			os.Exit(1)
		}
		time.AfterFunc(dur, func() { trace.Stop(); f.Close() })
	}
	if f := open("GATESCREEN_CPUPROFILE"); f != nil {
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "gatescreen: cpu profile:", err)
			os.Exit(1)
		}
		time.AfterFunc(dur, func() { pprof.StopCPUProfile(); f.Close() })
	}
}
