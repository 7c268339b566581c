package storage

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped drops this process's page-table entries for the store
// file's mapping, after reads of many records. The pages are clean page
// cache, so nothing is lost: the next access maps them again from the cache,
// or reads them from the card if the kernel reclaimed them meanwhile. Left
// mapped, every page a day's tally or a backlog drain once read stays in the
// daemon's RSS (25 MiB for 100,000 events) and is harder for the kernel to
// reclaim than unmapped cache.
//
// tx must be open, a reader or the writer's own transaction before it
// commits: bbolt remaps the file only in a commit, under its mmap lock,
// which every open read transaction holds shared. So the mapping bbolt
// reports (its start, and the file's used size) stays where it is while
// this runs.
func releaseMapped(tx *bolt.Tx) {
	start, size := tx.DB().Info().Data, tx.Size()
	if start == 0 || size <= 0 {
		return
	}
	// The raw system call: the range is bbolt's mapping, not Go memory, so
	// no unsafe.Pointer is made of it. An error leaves the pages mapped,
	// which costs only memory.
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, uintptr(size), syscall.MADV_DONTNEED)
}
