package daemon

import (
	"path/filepath"
	"testing"

	"github.com/gatescreen/gatescreen/sync/clock"
)

// Anchors of earlier boots are kept (bounded): their events may still wait
// for upload.
func TestAnchorFileKeepsEarlierBoots(t *testing.T) {
	a := anchorFile(filepath.Join(t.TempDir(), "events.db"))
	if got := a.load(); got != nil {
		t.Fatalf("fresh file: %v", got)
	}
	for i := range maxAnchors + 3 {
		if err := a.save(clock.Anchor{BootID: string(rune('a' + i)), Mono: int64(i), Wall: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := a.load()
	if len(got) != maxAnchors {
		t.Fatalf("%d anchors kept, want %d", len(got), maxAnchors)
	}
	if got[0].BootID != string(rune('a'+maxAnchors+2)) {
		t.Fatalf("latest anchor first: got %q", got[0].BootID)
	}
	// Saving the same boot again replaces it.
	if err := a.save(clock.Anchor{BootID: got[0].BootID, Mono: 99}); err != nil {
		t.Fatal(err)
	}
	if again := a.load(); len(again) != maxAnchors || again[0].Mono != 99 {
		t.Fatalf("resave: %d anchors, first %+v", len(again), again[0])
	}
}
