package runner

import (
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/drivers/ptyport"
)

func TestOpenSerialParity(t *testing.T) {
	p, err := ptyport.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, parity := range []string{"", "none", "even", "odd"} {
		_, closer, err := OpenSerialParity(p.Path, 9600, parity)
		if err != nil {
			t.Fatalf("parity %q: %v", parity, err)
		}
		closer.Close()
	}
	if _, _, err := OpenSerialParity(p.Path, 9600, "E"); err == nil || !strings.Contains(err.Error(), `parity "E"`) {
		t.Fatalf("parity E: %v", err)
	}
	if _, _, err := OpenSerial(p.Path, 0); err == nil {
		t.Fatal("baud 0 accepted")
	}
}
