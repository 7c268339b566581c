package runner

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
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

// openReading opens n pseudo-terminals, opens each slave with OpenSerial
// and starts a reader on it that passes every byte it reads to got. It
// returns the pairs; everything is closed when the test ends.
func openReading(t *testing.T, n int, got chan<- time.Time) []*ptyport.Pair {
	t.Helper()
	pairs := make([]*ptyport.Pair, n)
	for i := range pairs {
		p, err := ptyport.Open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		port, closer, err := OpenSerial(p.Path, 115200)
		if err != nil {
			t.Fatal(err)
		}
		if err := port.SetReadTimeout(time.Second); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		t.Cleanup(func() { closer.Close(); <-done })
		go func() {
			defer close(done)
			buf := make([]byte, 64)
			for {
				k, err := port.Read(buf)
				if err != nil {
					return
				}
				for range k {
					got <- time.Now()
				}
			}
		}()
		pairs[i] = p
	}
	return pairs
}

func threads(t *testing.T) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(tasks)
}

// A port waiting for bytes must not hold an OS thread in a system call
// (issue #17): 16 quiet ports held 16 threads, and each thread its
// scheduler slot until sysmon took it back.
func TestSerialReadsHoldNoThread(t *testing.T) {
	before := threads(t)
	openReading(t, 16, make(chan time.Time, 16))
	time.Sleep(300 * time.Millisecond) // every reader is waiting
	if grew := threads(t) - before; grew >= 8 {
		t.Fatalf("16 waiting readers took %d more OS threads; want them parked in the poller", grew)
	}
}
