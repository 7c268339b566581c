package runner

import (
	"context"
	"fmt"
	"io"

	"go.bug.st/serial"

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
func OpenSerialParity(path string, baud int, parity string) (drivers.Port, io.Closer, error) {
	if baud <= 0 {
		return nil, nil, fmt.Errorf("runner: open serial %s: baud %d must be positive", path, baud)
	}
	par, ok := parities[parity]
	if !ok {
		return nil, nil, fmt.Errorf("runner: open serial %s: parity %q: want none, even or odd", path, parity)
	}
	port, err := serial.Open(path, &serial.Mode{
		BaudRate: baud,
		DataBits: 8,
		Parity:   par,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("runner: open serial %s at %d baud: %w", path, baud, err)
	}
	return port, port, nil
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
