package storage

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// The crash test re-executes the test binary as a writer child (see
// TestMain) and kills it with SIGKILL at random points.
const (
	crashChildEnv = "GATESCREEN_STORAGE_CRASH_CHILD"
	crashRunEnv   = "GATESCREEN_STORAGE_CRASH_RUN"
)

func crashEvent(lane string, urgent bool) event.Event {
	ev, err := event.New(event.KindReading, event.Reading{Lane: lane, Verdict: event.VerdictPass, BodyC: ptr(36.5), ThresholdC: 37.3})
	if err != nil {
		panic(err)
	}
	ev.Urgent, ev.Wall = urgent, time.Now().UnixNano()
	return ev
}

// crashChild appends under load and prints "<seq> <lane>" for every event
// AppendWait reported durable, until it is killed.
func crashChild(path string) {
	s, err := Open(path, Opts{CommitInterval: 10 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	run := os.Getenv(crashRunEnv)
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				lane := fmt.Sprintf("run%s-w%d-%d", run, w, i)
				seq, err := s.AppendWait(context.Background(), crashEvent(lane, i%5 == 0))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				// One write per line: whole lines or nothing reach the pipe.
				if _, err := os.Stdout.WriteString(strconv.FormatUint(seq, 10) + " " + lane + "\n"); err != nil {
					os.Exit(1)
				}
			}
		}()
	}
	for i := 0; ; i++ {
		_ = s.Append(crashEvent("load-"+run, false)) // ErrBusy is fine: load only
		if i%8 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

func TestCrashKeepsEveryDurableEvent(t *testing.T) {
	runs := 50
	if testing.Short() {
		runs = 10
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	path := tempPath(t)
	reported := map[uint64]string{} // seq → lane, across all runs
	var maxSeq uint64
	for run := range runs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashRunEnv+"="+strconv.Itoa(run))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		runStart := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		first := make(chan struct{})
		done := make(chan []string)
		go func() {
			var lines []string
			r := bufio.NewReader(stdout)
			for {
				line, err := r.ReadString('\n')
				if err != nil { // a torn last line was never fully reported
					done <- lines
					return
				}
				if len(lines) == 0 {
					close(first)
				}
				lines = append(lines, line)
			}
		}()
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("run %d: child reported nothing: %s", run, stderr.String())
		}
		firstAt := time.Since(runStart)
		time.Sleep(time.Duration(rng.IntN(80_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		lines := <-done
		_ = cmd.Wait()
		if strings.Contains(stderr.String(), "storage") {
			t.Fatalf("run %d: child failed: %s", run, stderr.String())
		}
		for _, line := range lines {
			seqText, lane, ok := strings.Cut(strings.TrimSpace(line), " ")
			seq, err := strconv.ParseUint(seqText, 10, 64)
			if !ok || err != nil {
				t.Fatalf("run %d: bad line %q", run, line)
			}
			if prev, dup := reported[seq]; dup {
				t.Fatalf("run %d: seq %d reported for %s and earlier for %s", run, seq, lane, prev)
			}
			reported[seq] = lane
			maxSeq = max(maxSeq, seq)
		}

		s, err := Open(path, Opts{})
		if err != nil {
			t.Fatalf("run %d: reopen after SIGKILL: %v", run, err)
		}
		stored := allSeqs(t, s)
		for seq, lane := range reported {
			ev, ok := stored[seq]
			if !ok {
				t.Fatalf("run %d: seq %d (%s) was reported durable but is missing", run, seq, lane)
			}
			if r := decodeBody[event.Reading](t, ev); r.Lane != lane {
				t.Fatalf("run %d: seq %d holds %s, was reported for %s", run, seq, r.Lane, lane)
			}
		}
		if s.Durable() < maxSeq {
			t.Fatalf("run %d: Durable %d below reported seq %d", run, s.Durable(), maxSeq)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, path)
		t.Logf("run %d: %d seqs reported, %d stored; first after %v, run took %v", run, len(lines), len(stored), firstAt, time.Since(runStart))
	}
	if len(reported) < runs {
		t.Errorf("only %d durable events reported over %d runs; the test did not exercise much", len(reported), runs)
	}
}
