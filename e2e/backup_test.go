//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
)

// #20 item 7: `gatescreen backup` copies the live store during a rush with
// the district broker down; `gatescreen restore` refuses while the daemon
// runs, then puts the copy back once it is stopped; the daemon started on
// the restored store delivers every event of the backup, and no id it
// hands out afterwards collides with one the replaced store used.
func TestBackupUnderLoadRestoredAndDrained(t *testing.T) {
	const rush = 20 * time.Second
	mq, cons := districtBroker(t, "district-backup", true)

	sc := scenario(t, strings.Replace(busyGate, "duration: 0s", "duration: "+rush.String(), 1))
	r := newRig(t, sc, func(c *config.Config) { c.Uplink.Broker = mq.URL("tcp") })
	r.start(true)
	waitFor(t, "40 events in the outbox", func() bool { n, _ := r.outboxDepth(); return n >= 40 })
	backup := filepath.Join(r.dir, "backup.db")
	out, err := exec.Command(binPath, "backup", "-config", r.cfgPath, "-o", backup).CombinedOutput()
	if err != nil {
		t.Fatalf("backup during the rush: %v\n%s", err, out)
	}
	inBackup := storeIDs(t, backup)
	if len(inBackup) < 40 {
		t.Fatalf("the backup holds %d events, the outbox had 40 before it began", len(inBackup))
	}
	out, err = exec.Command(binPath, "restore", "-config", r.cfgPath, backup).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "stop it first") {
		t.Fatalf("restore while the daemon runs: %v, want a refusal\n%s", err, out)
	}
	<-r.gate().Done()
	r.stop()
	replaced := r.storedIDs()
	if len(replaced) <= len(inBackup) {
		t.Fatalf("the store holds %d events at the end, the backup %d: the rush went on after the backup?", len(replaced), len(inBackup))
	}

	out, err = exec.Command(binPath, "restore", "-config", r.cfgPath, backup).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kept as") {
		t.Fatalf("restore with the daemon stopped: %v\n%s", err, out)
	}
	mq.Start()
	r.start(true)
	r.waitDrained()
	r.stop()

	if missing := cons.missingAfter(inBackup, long); len(missing) > 0 {
		t.Fatalf("%d of the backup's %d events never arrived after the restore, e.g. %v", len(missing), len(inBackup), missing[:min(5, len(missing))])
	}
	received := cons.receivedIDs()
	if c := cons.conflictIDs(); len(c) > 0 {
		t.Fatalf("ids delivered with different contents after the restore (an id used twice): %v", c[:min(5, len(c))])
	}
	restored := r.storedIDs()
	reused := 0
	for id := range restored {
		if replaced[id] && !inBackup[id] {
			reused++
		}
	}
	if reused > 0 {
		t.Fatalf("the restored store handed out %d ids the replaced store had used", reused)
	}
	figures(t, "backup during a %v rush with the broker down: %d events; the store went on to %d; restored and drained: %d received, 0 lost, 0 ids reused",
		rush, len(inBackup), len(replaced), len(received))
}
