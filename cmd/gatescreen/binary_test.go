package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/gatescreen/gatescreen/internal/testkit/testbinary"
)

// gatescreen is the real binary, built once for the tests that run it.
// It is built with the test seams (-tags testhooks): the tests set the
// clock through GATESCREEN_TEST_CLOCK_FILE.
var gatescreen = &testbinary.Binary{Package: ".", Flags: []string{"-tags", "testhooks"}}

func TestMain(m *testing.M) {
	code := m.Run()
	gatescreen.Remove()
	os.Exit(code)
}

// binary builds the real gatescreen binary once for the tests of this package.
func binary(t *testing.T) string { return gatescreen.Path(t) }

// The binary a box runs (scripts/cross-build.sh, scripts/package.sh: no
// build tags) holds none of the test seams: a clock set through a file, a
// sleep inside every commit holding bbolt's writer lock, a lamp trace that
// can block the lamp goroutine. They were compiled into it.
func TestReleaseBinaryHasNoTestHooks(t *testing.T) {
	rel := &testbinary.Binary{Package: ".", Flags: []string{"-trimpath", "-ldflags", "-s -w"}, Env: []string{"CGO_ENABLED=0"}}
	t.Cleanup(rel.Remove)
	b, err := os.ReadFile(rel.Path(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, hook := range []string{"GATESCREEN_TEST_", "GATESCREEN_LAMP_TRACE", "GATESCREEN_SIM_PINS", "GATESCREEN_CPUPROFILE", "GATESCREEN_TRACE", "test hook"} {
		if bytes.Contains(b, []byte(hook)) {
			t.Errorf("the release binary contains %q", hook)
		}
	}
	tagged, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(tagged, []byte("GATESCREEN_TEST_CLOCK_FILE")) {
		t.Error("the test build lacks the clock hook: the check above would pass for nothing")
	}
}
