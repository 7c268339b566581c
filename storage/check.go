package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"
)

// The integrity check runs in a child process: the running binary is
// re-executed with checkerEnv naming the file. It reads the file itself
// (filecheck.go), but a fault while reading a damaged card costs an exit
// code in a child instead of the daemon, and a check that runs too long on
// a big file can simply be killed.
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
// The file is read with pread (see filecheck.go), never mapped, so that the
// child's RSS stays a few MiB whatever the file's size.
func runChecker(path string, lockTimeout time.Duration) int {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fmt.Println(err)
		return checkIOError
	}
	defer f.Close()
	switch err := lockOpen(f, false, lockTimeout); {
	case errors.Is(err, ErrLocked):
		return checkLocked
	case err != nil:
		fmt.Println(err)
		return checkIOError
	}
	m, free, err := checkFile(f)
	if err != nil {
		fmt.Printf("storage: %s: %v\n", path, err)
		return checkCorrupt
	}
	if m.freelist == noFreelist {
		writeFreelist(f, m, free)
	}
	return checkOK
}

// writeFreelist writes the free-page list of a checked file, which the
// daemon's commits leave out (NoFreelistSync). Without it the daemon's
// bbolt open walks every page of the file through its mapping to rebuild
// the list, and the walked pages count in the daemon's RSS (the size of the
// file). The check has just found the free pages. A failure only means the
// daemon rebuilds the list itself; so does a file another reader holds, as
// the list is written under the exclusive lock.
func writeFreelist(f *os.File, m boltMeta, free []uint64) {
	if err := lockOpen(f, true, 0); err != nil {
		fmt.Fprintln(os.Stderr, "writing the freelist:", err)
		return
	}
	// Between the shared lock and this one a writer may have committed.
	fi, err := f.Stat()
	var again boltMeta
	if err == nil {
		again, err = (&fileCheck{f: f}).readMetas(fi.Size())
	}
	if err == nil && (again.txid != m.txid || again.hwm != m.hwm) {
		err = fmt.Errorf("%s changed during the check (transaction %d, now %d)", f.Name(), m.txid, again.txid)
	}
	if err == nil {
		err = writeFreelistPage(f, m, free)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "writing the freelist:", err)
	}
}

// checkInChild runs the checker on s.path, bounded by checkBudget. A check
// that does not finish, or cannot run, is a *corruptError like a failed one:
// the file is set aside, because a damaged file makes bbolt panic where no
// recover reaches, and the next start would do the same.
func (s *Store) checkInChild() error {
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return nil // a new file
	}
	budget := s.checkBudget(s.path)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
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
		return &corruptError{fmt.Errorf("storage: %s: integrity check did not finish within %v; not opened unchecked", s.path, budget)}
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

// checkBudget is how long the check or the salvage of path may take:
// Opts.CheckTimeout, or 20 s plus 1 s per MiB of the file. Running out
// sets the file aside, so the default follows the file's size: a flat 20 s
// set good full stores aside on a loaded machine (docs/bench/startup.md),
// and a cold SD card is slower still. The gate does not wait for the check,
// and the writer's queue holds about 17 minutes at gate rate, more than the
// 4.6 minutes a 256 MiB store may take.
func (s *Store) checkBudget(path string) time.Duration {
	if s.o.CheckTimeout > 0 {
		return s.o.CheckTimeout
	}
	budget := 20 * time.Second
	if fi, err := os.Stat(path); err == nil {
		budget += time.Duration(fi.Size()>>20) * time.Second
	}
	return budget
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
