package drivers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
)

type nopSource struct{}

func (nopSource) Run(ctx context.Context, _ Emit) error { <-ctx.Done(); return nil }

func newNop(Device, Conn) (Source, error) { return nopSource{}, nil }

func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), want) {
			t.Fatalf("panic %v, want one mentioning %q", r, want)
		}
	}()
	fn()
}

// registrations numbers the names the registry test registers: the
// registry is global, and `go test -count N` runs the test N times.
var registrations atomic.Int64

func TestRegisterPanicsOnProgrammingErrors(t *testing.T) {
	name := fmt.Sprintf("test-registry-%d", registrations.Add(1))
	Register(Driver{Name: name, Transport: Serial, New: newNop})
	if d, ok := Lookup(name); !ok || d.Transport != Serial {
		t.Fatalf("lookup after register: %+v %v", d, ok)
	}
	mustPanic(t, fmt.Sprintf("twice for %q", name), func() { Register(Driver{Name: name, New: newNop}) })
	mustPanic(t, "empty name", func() { Register(Driver{New: newNop}) })
	mustPanic(t, "without New", func() { Register(Driver{Name: "test-no-new"}) })
	found := false
	for _, n := range Names() {
		found = found || n == name
	}
	if !found {
		t.Fatalf("Names() = %v", Names())
	}
}

func TestFlagsAndReadings(t *testing.T) {
	if (FlagAlarm | FlagNoAmbient).Invalid() {
		t.Error("alarm and missing ambient are information, not faults")
	}
	for _, f := range []Flags{FlagChecksum, FlagSensorError, FlagOutOfRange, FlagMalformed, FlagStatus} {
		if !(f | FlagAlarm).Invalid() {
			t.Errorf("flag %b does not make a reading invalid", f)
		}
	}
	long := make([]byte, 2*MaxFrame)
	for i := range long {
		long[i] = byte(i)
	}
	r := Invalid(FlagChecksum, long)
	if !math.IsNaN(r.ObjectC) || !math.IsNaN(r.AmbientC) || len(r.FrameBytes()) != MaxFrame || r.FrameBytes()[MaxFrame-1] != MaxFrame-1 {
		t.Errorf("invalid reading %+v", r)
	}
	b := Badge([]byte("04A1B2C3"))
	if b.Kind != KindBadge || string(b.FrameBytes()) != "04A1B2C3" || !math.IsNaN(b.ObjectC) {
		t.Errorf("badge reading %+v", b)
	}
}
