package main

import (
	"os"
	"testing"

	"github.com/gatescreen/gatescreen/internal/testbinary"
)

// gatescreen is the real binary, built once for the tests that run it.
var gatescreen = &testbinary.Binary{Package: "."}

func TestMain(m *testing.M) {
	code := m.Run()
	gatescreen.Remove()
	os.Exit(code)
}

// binary builds the real gatescreen binary once for the tests of this package.
func binary(t *testing.T) string { return gatescreen.Path(t) }
