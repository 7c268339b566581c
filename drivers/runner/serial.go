package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/gatescreen/gatescreen/drivers"
)

// OpenSerial opens a serial port at baud, 8N1, raw, with no flow control.
func OpenSerial(path string, baud int) (drivers.Port, io.Closer, error) {
	return OpenSerialParity(path, baud, "")
}

// parities maps devices[].parity to the port's setting; "" is none.
var parities = map[string]serial.Parity{"": serial.NoParity, "none": serial.NoParity, "even": serial.EvenParity, "odd": serial.OddParity}

// OpenSerialParity opens path at baud, 8 data bits, one stop bit and the
// given parity ("none", "even" or "odd"), in raw mode.
//
// go.bug.st/serial sets the line up (raw mode, speed, parity, exclusive
// use), but its Read blocks its OS thread in select(2), and a thread in a
// system call keeps its Go scheduler slot until the runtime's monitor takes
// it back, up to 10 ms later: a reading handed to the pipeline waited that
// long to run on a busy box (docs/bench/lanes.md). So the port's bytes are
// read and written through a second, non-blocking descriptor of the same
// terminal, opened before the exclusive lock is taken, on which Go's
// network poller waits without holding a thread or a slot.
func OpenSerialParity(path string, baud int, parity string) (drivers.Port, io.Closer, error) {
	if baud <= 0 {
		return nil, nil, fmt.Errorf("runner: open serial %s: baud %d must be positive", path, baud)
	}
	par, ok := parities[parity]
	if !ok {
		return nil, nil, fmt.Errorf("runner: open serial %s: parity %q: want none, even or odd", path, parity)
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("runner: open serial %s: %w", path, err)
	}
	line, err := serial.Open(path, &serial.Mode{
		BaudRate: baud,
		DataBits: 8,
		Parity:   par,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("runner: open serial %s at %d baud: %w", path, baud, err)
	}
	p := &polledPort{f: f, line: line}
	return p, p, nil
}

// polledPort is a serial port whose reads and writes go through Go's poller.
type polledPort struct {
	f       *os.File
	line    serial.Port // holds the settings and the exclusive lock
	timeout time.Duration
}

// Read waits at most the read timeout for bytes, like go.bug.st/serial's
// Read: no bytes and no error when it passes.
func (p *polledPort) Read(b []byte) (int, error) {
	if p.timeout > 0 {
		if err := p.f.SetReadDeadline(time.Now().Add(p.timeout)); err != nil {
			return 0, err
		}
	}
	n, err := p.f.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, nil
	}
	return n, err
}

func (p *polledPort) Write(b []byte) (int, error) { return p.f.Write(b) }

// SetReadTimeout bounds each Read; 0 means no bound.
func (p *polledPort) SetReadTimeout(t time.Duration) error {
	p.timeout = t
	if t == 0 {
		return p.f.SetReadDeadline(time.Time{})
	}
	return nil
}

// Close ends a Read in progress, then releases the line.
func (p *polledPort) Close() error {
	return errors.Join(p.f.Close(), p.line.Close())
}

// SerialOpener returns an Opts.Open for a serial device: its port at its
// configured baud, or at the driver's default (first) baud when unset.
func SerialOpener(dev drivers.Device, drv drivers.Driver) func(context.Context) (drivers.Conn, io.Closer, error) {
	baud := dev.Baud
	if baud == 0 && len(drv.Bauds) > 0 {
		baud = drv.Bauds[0]
	}
	return func(context.Context) (drivers.Conn, io.Closer, error) {
		port, closer, err := OpenSerialParity(dev.Port, baud, dev.Parity)
		if err != nil {
			return drivers.Conn{}, nil, err
		}
		return drivers.Conn{Port: port}, closer, nil
	}
}
