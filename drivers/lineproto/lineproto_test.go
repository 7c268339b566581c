package lineproto

import (
	"context"
	"io"
	"math"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
	"github.com/gatescreen/gatescreen/internal/testkit/serialtest"
)

const generous = 10 * time.Second

// nopPort is a port that never delivers a byte.
type nopPort struct{}

func (nopPort) Read([]byte) (int, error)           { return 0, io.EOF }
func (nopPort) Write(p []byte) (int, error)        { return len(p), nil }
func (nopPort) SetReadTimeout(time.Duration) error { return nil }

type rig struct {
	pair     *ptyport.Pair
	src      *Dev
	readings chan drivers.Reading
	done     chan error
	cancel   context.CancelFunc
}

func start(t *testing.T, opts Opts) *rig {
	t.Helper()
	pair, src := serialtest.Open(t, func(c drivers.Conn) (drivers.Source, error) { return New(c.Port, &opts) })
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{pair: pair, src: src.(*Dev), readings: make(chan drivers.Reading, 1024), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- src.Run(ctx, func(rd drivers.Reading) { r.readings <- rd }) }()
	t.Cleanup(cancel)
	return r
}

func (r *rig) write(t *testing.T, s string) {
	t.Helper()
	if _, err := r.pair.Master.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) next(t *testing.T) drivers.Reading {
	t.Helper()
	select {
	case rd := <-r.readings:
		return rd
	case err := <-r.done:
		t.Fatalf("source stopped: %v", err)
	case <-time.After(generous):
		t.Fatal("no reading")
	}
	return drivers.Reading{}
}

func TestSourceDefaultPatternThroughSerialPort(t *testing.T) {
	r := start(t, Opts{Name: "gate1", Line: &drivers.LineOpts{LineEnd: "\r\n", MaxLine: 32}})
	r.write(t, "T=36.")
	time.Sleep(5 * time.Millisecond) // let the first half arrive alone
	r.write(t, "5 A=24.1\r\nERR 07\r\n")
	r.write(t, "T=36.6 "+string(make([]byte, 100))+"\r\nTEMP:37.4C\r\n")

	if rd := r.next(t); rd.Flags != 0 || rd.ObjectC != 36.5 || rd.AmbientC != 24.1 {
		t.Fatalf("got %+v, want 36.5/24.1", rd)
	}
	if rd := r.next(t); rd.Flags != drivers.FlagMalformed || string(rd.FrameBytes()) != "ERR 07" {
		t.Fatalf("got %+v, want malformed ERR 07", rd)
	}
	if rd := r.next(t); rd.Flags != drivers.FlagNoAmbient || rd.ObjectC != 37.4 || !math.IsNaN(rd.AmbientC) {
		t.Fatalf("got %+v, want 37.4 without ambient", rd)
	}
	if d := r.src.Dropped(); d != 1 {
		t.Fatalf("dropped %d lines, want 1", d)
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(generous):
		t.Fatal("Run did not return after cancel")
	}
}

func TestSourceFahrenheitCR(t *testing.T) {
	r := start(t, Opts{Name: "gun", Line: &drivers.LineOpts{
		Pattern: `^(?P<temp>\d+\.\d)F$`, Unit: "F", LineEnd: "\r",
	}})
	r.write(t, "99.5F\r97.7F\r")
	for _, want := range []float64{37.5, 36.5} {
		if rd := r.next(t); rd.Flags != drivers.FlagNoAmbient || math.Abs(rd.ObjectC-want) > 1e-9 {
			t.Fatalf("got %+v, want %v °C", rd, want)
		}
	}
}

func TestSourceFailsWhenPortGoesAway(t *testing.T) {
	r := start(t, Opts{Name: "gate1"})
	r.pair.Close()
	select {
	case err := <-r.done:
		if err == nil {
			t.Fatal("Run returned nil after the device vanished")
		}
	case <-time.After(generous):
		t.Fatal("Run did not notice the device vanish")
	}
}

func TestRegistered(t *testing.T) {
	d, ok := drivers.Lookup("lineproto")
	if !ok || d.Transport != drivers.Serial || d.Continuous || d.Bauds[0] != 9600 || len(d.Bauds) != 5 {
		t.Fatalf("registry entry %+v, %v", d, ok)
	}
}
