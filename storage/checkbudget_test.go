package storage

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A flat 20 s budget set good full stores aside when the machine was busy
// (docs/bench/startup.md): the default grows with the file, an explicit
// CheckTimeout is kept as given.
func TestCheckBudgetFollowsTheFileSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatescreen.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 256<<20); err != nil { // sparse: no 256 MiB written
		t.Fatal(err)
	}
	s := &Store{}
	if got, want := s.checkBudget(path), 276*time.Second; got != want {
		t.Errorf("budget for a 256 MiB file %v, want %v", got, want)
	}
	if got := s.checkBudget(filepath.Join(t.TempDir(), "none.db")); got != 20*time.Second {
		t.Errorf("budget for a missing file %v, want 20s", got)
	}
	s.o.CheckTimeout = 3 * time.Second
	if got := s.checkBudget(path); got != 3*time.Second {
		t.Errorf("budget with CheckTimeout 3s: %v", got)
	}
}
