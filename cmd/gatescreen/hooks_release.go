//go:build !testhooks

package main

import (
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/daemon"
)

// The shipped binary has no test seams: the tests and benchmarks build
// with -tags testhooks (testhooks.go, benchhooks.go), and
// TestReleaseBinaryHasNoTestHooks checks the release build holds none of
// their environment variables.

func benchHooks(*config.Config, *daemon.Opts) (stop func(), err error) { return func() {}, nil }

func testClock(*daemon.Opts) (stop func(), err error) { return func() {}, nil }

func testNow() (time.Time, error) { return time.Now(), nil }
