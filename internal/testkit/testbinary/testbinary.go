package testbinary

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Binary is a command built on first use; set Package.
type Binary struct {
	// Package is what `go build` builds, e.g. "." or "../cmd/gatescreen".
	Package string
	// Flags are extra build flags, e.g. -trimpath -ldflags "-s -w".
	Flags []string
	// Env is added to the build's environment, e.g. CGO_ENABLED=0.
	Env []string

	once      sync.Once
	dir, path string
	err       error
}

// Path builds the binary on the first call and returns its path; a failed
// build fails t.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	path, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Build is Path for a TestMain, which has no testing.TB.
func (b *Binary) Build() (string, error) {
	b.once.Do(b.build)
	return b.path, b.err
}

func (b *Binary) build() {
	dir, err := os.MkdirTemp("", "gatescreen-bin-")
	if err != nil {
		b.err = err
		return
	}
	pkg, err := filepath.Abs(b.Package) // named after its directory, as go build names it
	if err != nil {
		b.err = err
		return
	}
	b.dir, b.path = dir, filepath.Join(dir, filepath.Base(pkg))
	args := append(append([]string{"build"}, b.Flags...), "-o", b.path, b.Package)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), b.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.err = fmt.Errorf("building %s: %v\n%s", b.Package, err, out)
	}
}

// Remove deletes the binary, if one was built.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
