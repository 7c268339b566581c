package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The integrity check runs in a child process: the running binary is
// re-executed with checkerEnv naming the file. bbolt reacts to some garbled
// pages with assertion panics or faults in goroutines of its own, which no
// recover can catch; in a child they cost an exit code instead of the daemon,
// and a check that runs too long on a big file can simply be killed.
const (
	checkerEnv     = "GATESCREEN_STORAGE_CHECK"
	checkerLockEnv = "GATESCREEN_STORAGE_CHECK_LOCK_TIMEOUT"
)

// Exit codes of the checker; any other code (a panic exits with 2, a fault
// with a signal) means the file is damaged.
const (
	checkOK      = 0
	checkCorrupt = 3
	checkLocked  = 4
	checkIOError = 5
)

func init() {
	lockTimeout, err := time.ParseDuration(os.Getenv(checkerLockEnv))
	if err != nil {
		lockTimeout = 2 * time.Second
	}
	if path := os.Getenv(checkerEnv); path != "" {
		os.Exit(runChecker(path, lockTimeout))
	}
	if path := os.Getenv(salvageEnv); path != "" {
		os.Exit(runSalvage(path, lockTimeout))
	}
}

// runChecker is the child's side: it checks path and prints what is wrong.
func runChecker(path string, lockTimeout time.Duration) int {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return checkLocked
	case errors.As(err, new(*fs.PathError)):
		fmt.Println(err)
		return checkIOError
	case err != nil:
		fmt.Println(err)
		return checkCorrupt
	}
	fi, err := os.Stat(path)
	if err != nil {
		fmt.Println(err)
		return checkIOError
	}
	err = db.View(func(tx *bolt.Tx) error {
		if fi.Size() < tx.Size() {
			return fmt.Errorf("truncated: %d bytes, meta says %d", fi.Size(), tx.Size())
		}
		// The open transaction pins the mapping (see releaseMapped).
		defer releaseWhile(func() { releaseMapped(tx) })()
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return checkCorrupt
	}
	if err := db.Close(); err != nil {
		fmt.Println(err)
		return checkIOError
	}
	writeFreelist(path, lockTimeout)
	return checkOK
}

// checkRelease is how often the checker drops the pages it mapped. Walking
// the file maps every page of it, and mapped page cache counts in the
// child's RSS: 215 MiB for a 213 MiB file, on a 512 MiB box whose daemon
// runs beside it. At warm page-cache speed about a MiB is read between two
// releases (more when the machine is busy and the releasing goroutine waits
// for a CPU).
const checkRelease = time.Millisecond

// releaseWhile calls release every checkRelease until the returned stop is
// called, and once more then.
func releaseWhile(release func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(checkRelease)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				release()
			}
		}
	})
	return func() { close(done); wg.Wait(); release() }
}

// writeFreelist has bbolt write the free-page list of a checked file, which
// the daemon's commits leave out (NoFreelistSync). Without it the daemon's
// own open walks every page of the file to rebuild the list, and those pages
// stay mapped in the daemon: 25 MiB of RSS for 100,000 events. The child has
// just walked the file for the check, so the rebuild costs it little. A
// failure only means the daemon rebuilds the list itself.
func writeFreelist(path string, lockTimeout time.Duration) {
	fi, err := os.Stat(path)
	abs, aerr := filepath.Abs(path)
	if err != nil || aerr != nil {
		fmt.Fprintln(os.Stderr, "writing the freelist:", errors.Join(err, aerr))
		return
	}
	// bbolt's open rebuilds the list by walking every page, with no
	// transaction to pin the mapping, so the pages are released through
	// /proc/self/maps (releaseFile). The mapping must not move meanwhile:
	// mapped with room for the few pages the list's commit adds, the open
	// never remaps, and the releases stop before Close unmaps it.
	stop := releaseWhile(func() { releaseFile(abs) })
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, FreelistType: bolt.FreelistMapType,
		InitialMmapSize: int(fi.Size()) + freelistRoom})
	stop()
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "writing the freelist:", err)
	}
}

// freelistRoom is the mapping's room beyond the file for the commit that
// writes the free-page list: a list of 16 MiB of free page ids is far more
// than a 256 MiB file can have.
const freelistRoom = 16 << 20

// checkInChild runs the checker on s.path, bounded by CheckTimeout. A check
// that does not finish, or cannot run, is a *corruptError like a failed one:
// the file is set aside, because a damaged file makes bbolt panic where no
// recover reaches, and the next start would do the same.
func (s *Store) checkInChild() error {
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return nil // a new file
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.o.CheckTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := s.child(ctx, checkerEnv, s.path)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	msg := firstLine(out.String())
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return &corruptError{fmt.Errorf("storage: %s: integrity check did not finish within %v; not opened unchecked", s.path, s.o.CheckTimeout)}
	case !errors.As(err, &exit):
		return &corruptError{fmt.Errorf("storage: %s: cannot run the integrity check (%w); not opened unchecked", s.path, err)}
	case exit.ExitCode() == checkLocked:
		return fmt.Errorf("%w: %s", ErrLocked, s.path)
	case exit.ExitCode() == checkIOError:
		return fmt.Errorf("storage: check %s: %s", s.path, msg)
	default:
		return &corruptError{fmt.Errorf("storage: %s: integrity check failed (%v): %s", s.path, err, msg)}
	}
}

// child is this binary re-executed with env set to path. os.Executable
// names the program itself also under qemu-user emulation, where
// /proc/self/exe is the emulator.
func (s *Store) child(ctx context.Context, env, path string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), env+"="+path, checkerLockEnv+"="+s.o.LockTimeout.String())
	return cmd
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
