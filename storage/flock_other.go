//go:build !unix

package storage

import "time"

// lockFile is unix-only (see flock_unix.go); elsewhere bbolt's own lock is
// the only guard.
func lockFile(string, time.Duration) (func(), error) { return func() {}, nil }
