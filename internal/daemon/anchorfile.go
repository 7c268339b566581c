package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatescreen/gatescreen/sync/clock"
)

// anchorFile keeps the clock's sync anchors beside the store, so a daemon
// restarted within the same boot still corrects earlier timestamps.
type anchorFile string

func (a anchorFile) path() string {
	return filepath.Join(filepath.Dir(string(a)), "clock-anchors.json")
}

func (a anchorFile) load() []clock.Anchor {
	b, err := os.ReadFile(a.path())
	if err != nil {
		return nil
	}
	var anchors []clock.Anchor
	if json.Unmarshal(b, &anchors) != nil {
		return nil
	}
	return anchors
}

// maxAnchors bounds the anchors kept: events of older boots waiting in
// the outbox (a box offline across several reboots) still get corrected.
const maxAnchors = 16

// save adds the anchor of this boot to the file, keeping the latest ones.
func (a anchorFile) save(an clock.Anchor) error {
	anchors := []clock.Anchor{an}
	for _, old := range a.load() {
		if old.BootID != an.BootID && len(anchors) < maxAnchors {
			anchors = append(anchors, old)
		}
	}
	b, err := json.Marshal(anchors)
	if err != nil {
		return err
	}
	tmp := a.path() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("clock anchor: %w", err)
	}
	return os.Rename(tmp, a.path())
}
