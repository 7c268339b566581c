package ptyport

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"go.bug.st/serial"
)

// A byte string written to the master arrives unchanged on the slave opened
// through go.bug.st/serial, including bytes the line discipline would
// otherwise translate (CR, 0x03, 0x7f).
func TestPairCarriesBytesToSerialPort(t *testing.T) {
	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	port, err := serial.Open(p.Path, &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatalf("open %s: %v", p.Path, err)
	}
	defer port.Close()
	if err := port.SetReadTimeout(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	want := []byte{0x5a, 0x5a, 0x45, 0x04, '\r', '\n', 0x03, 0x7f, 0x00, 0xff}
	if _, err := p.Master.Write(want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(port, got); err != nil {
		t.Fatalf("read: %v (got % x)", err, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

// Nobody reads the slave: a write fills the pty's buffer and must give up
// at its deadline instead of hanging the simulated device.
func TestWriteDeadlineWhenNobodyReads(t *testing.T) {
	p, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Master.SetWriteDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatalf("deadline on master: %v", err)
	}
	chunk := make([]byte, 16<<10)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := p.Master.Write(chunk); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write ended with %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write to a full pty did not honour its deadline")
	}
}
