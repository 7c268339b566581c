//go:build unix

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockFile takes the lock bbolt takes (flock) on path, waiting up to
// timeout, so a file whose check did not finish is never moved from under
// another process. The returned func releases it.
func lockFile(path string, timeout time.Duration) (func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("storage: lock %s: %w", path, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return func() { _ = f.Close() }, nil // closing releases the lock
		case errors.Is(err, syscall.EWOULDBLOCK) && time.Now().Before(deadline):
			time.Sleep(50 * time.Millisecond)
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			_ = f.Close()
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		_ = f.Close()
		return nil, fmt.Errorf("storage: lock %s: %w", path, err)
	}
}

// ownerOf returns the uid and gid of a file's info.
func ownerOf(fi os.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// lockOpen takes bbolt's lock on the open file f, shared (a reader's) or
// exclusive, waiting up to timeout; ErrLocked when it stays taken. Taking
// the exclusive lock over the shared one is not atomic: another process
// may write in between.
func lockOpen(f *os.File, exclusive bool, timeout time.Duration) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return fmt.Errorf("storage: lock %s: %w", f.Name(), err)
		case time.Now().After(deadline):
			return fmt.Errorf("%w: %s", ErrLocked, f.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
