package gymcu90614

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
	"github.com/gatescreen/gatescreen/internal/testkit/serialtest"
)

// generous bounds waits that only fail when something is broken.
const generous = 10 * time.Second

// rig is a module on a pseudo-terminal: the test plays the module on the
// master side, the Source reads the slave through go.bug.st/serial.
type rig struct {
	pair     *ptyport.Pair
	readings chan drivers.Reading
	done     chan error
	cancel   context.CancelFunc
}

func start(t *testing.T, opts Opts) *rig {
	t.Helper()
	pair, src := serialtest.Open(t, func(c drivers.Conn) (drivers.Source, error) { return New(c.Port, &opts) })
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{pair: pair, readings: make(chan drivers.Reading, 1024), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- src.Run(ctx, func(rd drivers.Reading) { r.readings <- rd }) }()
	t.Cleanup(cancel)
	return r
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

// expectCommand reads one command from the master side, as the module would.
func expectCommand(t *testing.T, master *os.File, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if err := master.SetReadDeadline(time.Now().Add(generous)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(master, got); err != nil {
		t.Fatalf("reading command: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("command % X, want % X", got, want)
	}
}

func TestSourceStreamsThroughSerialPort(t *testing.T) {
	r := start(t, Opts{Name: "lane1"})
	expectCommand(t, r.pair.Master, CmdContinuous)

	bad := bytes.Clone(datasheetFrame)
	bad[5]++
	stream := cat([]byte{0xFF, 0x00, 0x5A}, datasheetFrame, []byte{0x13, 0x37}, bad, frame(3650, 2410))
	// Write in uneven pieces so frames straddle reads.
	for i := 0; i < len(stream); i += 4 {
		if _, err := r.pair.Master.Write(stream[i:min(i+4, len(stream))]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	wantTemp(t, r.next(t), 31.92, 33.53)
	if rd := r.next(t); rd.Flags != drivers.FlagChecksum || !bytes.Equal(rd.FrameBytes(), bad) {
		t.Fatalf("bad frame read as %+v", rd)
	}
	wantTemp(t, r.next(t), 36.5, 24.1)

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

// A module that goes quiet (power-cycled into query mode) is told again to
// stream.
func TestSourceRepeatsContinuousCommandWhenQuiet(t *testing.T) {
	r := start(t, Opts{Name: "lane1"})
	expectCommand(t, r.pair.Master, CmdContinuous)
	expectCommand(t, r.pair.Master, CmdContinuous)
	if _, err := r.pair.Master.Write(datasheetFrame); err != nil {
		t.Fatal(err)
	}
	wantTemp(t, r.next(t), 31.92, 33.53)
}

func TestSourceQueriesAtRate(t *testing.T) {
	r := start(t, Opts{Name: "gun", Query: true, RateHz: 20})
	for i := range 3 {
		expectCommand(t, r.pair.Master, CmdQuery)
		if _, err := r.pair.Master.Write(frame(int16(3600+i), 2500)); err != nil {
			t.Fatal(err)
		}
		wantTemp(t, r.next(t), float64(3600+i)/100, 25)
	}
}

func TestSourceFailsWhenPortGoesAway(t *testing.T) {
	r := start(t, Opts{Name: "lane1"})
	expectCommand(t, r.pair.Master, CmdContinuous)
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

func TestRegisteredAndValidated(t *testing.T) {
	d, ok := drivers.Lookup("gymcu90614")
	if !ok || d.Transport != drivers.Serial || !d.Continuous || d.Bauds[0] != 9600 {
		t.Fatalf("registry entry %+v, %v", d, ok)
	}
	if errs := d.Validate(drivers.Device{RateHz: 8, Query: true}); len(errs) != 0 {
		t.Fatalf("valid device rejected: %v", errs)
	}
	errs := d.Validate(drivers.Device{RateHz: -1, Line: &drivers.LineOpts{}})
	if len(errs) != 2 || errs[0].Field != "rate_hz" || errs[1].Field != "line" {
		t.Fatalf("got %v, want rate_hz and line errors", errs)
	}
	if _, err := d.New(drivers.Device{Name: "x"}, drivers.Conn{}); err == nil {
		t.Fatal("New without a port succeeded")
	}
	if _, err := New(errPort{}, &Opts{Name: "x", RateHz: maxRateHz + 1}); err == nil {
		t.Fatal("New with a rate above the maximum succeeded")
	}
}

// errPort fails every write, as a port whose USB adapter was pulled.
type errPort struct{ io.Reader }

func (errPort) Write([]byte) (int, error)          { return 0, errors.New("unplugged") }
func (errPort) SetReadTimeout(time.Duration) error { return nil }

func TestSourceReportsWriteFailure(t *testing.T) {
	src, err := New(errPort{}, &Opts{Name: "lane1"})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Run(context.Background(), func(drivers.Reading) {})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("lane1")) {
		t.Fatalf("got %v, want an error naming the device", err)
	}
}
