//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/drivers/sim"
)

// A simulated gate's pseudo-terminal masters must not leak into child
// processes: the daemon and mosquitto are children of the test, and a
// daemon holding its own devices' masters never sees them hang up, so an
// unplug goes unnoticed and a replug on a new path is never picked up
// (TestDeviceFaults). drivers/sim used to duplicate each master without
// FD_CLOEXEC (fixed in 5be8fa6); this keeps it fixed.
func TestSimMastersLeakIntoChildren(t *testing.T) {
	sc := scenario(t, `
seed: 1
devices:
  - {name: gate, protocol: lineproto, lane: lane-1, arrivals_per_min: 1}
`)
	g, err := sim.Start(context.Background(), sc, sim.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	out, err := exec.Command("sh", "-c", "ls -l /proc/self/fd/").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if n := strings.Count(string(out), "/dev/ptmx"); n > 0 {
		t.Fatalf("a child process inherited %d pseudo-terminal master(s) of the simulated gate:\n%s", n, out)
	}
}
