package badge

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
)

const generous = 10 * time.Second

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"04A1B2C3", "04A1B2C3"},
		{"04a1b2c3", "04A1B2C3"},
		{"\x0204A1B2C3\x03", "04A1B2C3"},
		{"0x04a1b2c3", "04A1B2C3"},
		{"04:A1:B2:C3", "04A1B2C3"},
		{"04-a1-b2-c3", "04A1B2C3"},
		{" 0012345678 ", "0012345678"},
		{"04A1B2C3D4E5F60718293A4B", "04A1B2C3D4E5F60718293A4B"}, // 24 digits fit
		{"04A1B2C3D4E5F60718293A4B5", ""},                        // 25 do not
		{"123", ""},
		{"0x", ""},
		{"card 04A1", ""},
		{"04A1B2G3", ""},
		{"\x02\x03", ""},
	} {
		var uid [drivers.MaxFrame]byte
		n, ok := Normalize([]byte(c.line), &uid)
		if got := string(uid[:n]); ok != (c.want != "") || ok && got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.line, got, ok, c.want)
		}
	}
}

func TestSourceThroughSerialPort(t *testing.T) {
	pair, err := ptyport.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	port, closer, err := runner.OpenSerial(pair.Path, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	s, err := New(port, &Opts{Name: "lane1-card"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readings := make(chan drivers.Reading, 16)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(r drivers.Reading) { readings <- r }) }()

	in := "\x0204a1b2c3\x03" + "0012345678\r\n" + "ERROR\r\n" + string(bytes.Repeat([]byte("F"), 100)) + "\r\n" + "04:A1:B2:C4\r\n"
	for i := 0; i < len(in); i += 5 {
		if _, err := pair.Master.Write([]byte(in[i:min(i+5, len(in))])); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"04A1B2C3", "0012345678", "04A1B2C4"} {
		select {
		case r := <-readings:
			if r.Kind != drivers.KindBadge || string(r.FrameBytes()) != want || r.Flags != 0 {
				t.Fatalf("got %+v (%q), want badge %s", r, r.FrameBytes(), want)
			}
		case err := <-done:
			t.Fatalf("source stopped: %v", err)
		case <-time.After(generous):
			t.Fatalf("no badge %s", want)
		}
	}
	if d := s.Dropped(); d != 2 {
		t.Fatalf("dropped %d lines, want 2 (ERROR and the long one)", d)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(generous):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRegisteredAndValidated(t *testing.T) {
	d, ok := drivers.Lookup("badge")
	if !ok || d.Transport != drivers.Serial || d.Continuous || len(d.Bauds) != 2 || d.Bauds[0] != 9600 {
		t.Fatalf("registry entry %+v, %v", d, ok)
	}
	if errs := d.Validate(drivers.Device{Line: &drivers.LineOpts{}}); len(errs) != 1 || errs[0].Field != "line" {
		t.Fatalf("got %v, want a line error", errs)
	}
}

// FuzzDecodeBadge: no panic; every UID is upper-case hex of a valid length,
// made only of the digits of one line of the input, in order.
func FuzzDecodeBadge(f *testing.F) {
	for _, s := range []string{"\x0204a1b2c3\x03", "0012345678\r\n", "0x04:a1:b2:c3\n", "card\r\n\x02\x03"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var uid [drivers.MaxFrame]byte
		n, ok := Normalize(in, &uid)
		if !ok {
			return
		}
		if n < minUID || n > maxUID {
			t.Fatalf("UID length %d", n)
		}
		digits := bytes.ToUpper(in)
		for _, c := range uid[:n] {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
				t.Fatalf("UID %q has %q", uid[:n], c)
			}
			i := bytes.IndexByte(digits, c)
			if i < 0 {
				t.Fatalf("UID %q not from %q", uid[:n], in)
			}
			digits = digits[i+1:]
		}
	})
}
