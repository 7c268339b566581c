//go:build !unix

package storage

import (
	"os"
	"time"
)

// lockFile is unix-only (see flock_unix.go); elsewhere bbolt's own lock is
// the only guard.
func lockFile(string, time.Duration) (func(), error) { return func() {}, nil }

// lockOpen is unix-only too.
func lockOpen(*os.File, bool, time.Duration) error { return nil }

// ownerOf is unix-only: elsewhere a restored file keeps its creator.
func ownerOf(os.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }
