package storage

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// releaseMapped drops this process's page-table entries for the store
// file's mapping after a read of many records. The pages are clean page
// cache, so nothing is lost: the next access maps them again from the cache,
// or reads them from the card if the kernel reclaimed them meanwhile. Left
// mapped, every page a day's tally or a backlog drain once read stays in the
// daemon's RSS (25 MiB for 100,000 events) and is harder for the kernel to
// reclaim than unmapped cache.
//
// It must run inside a bbolt transaction: bbolt remaps the file only under
// its mmap lock, which every open transaction holds shared, so the range
// found in /proc/self/maps is the live mapping for as long as this runs.
func (s *Store) releaseMapped() {
	// The inode is looked up each time: compaction renames a new file over
	// the old one.
	fi, err := os.Stat(s.mapPath)
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	inode := []byte(" " + strconv.FormatUint(uint64(st.Ino), 10) + " ")
	path := []byte(s.mapPath)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		// "start-end perms offset dev inode path": match the inode and the
		// path, so a file of the same name elsewhere is never touched.
		if !bytes.Contains(line, inode) || !bytes.HasSuffix(line, path) {
			continue
		}
		span, _, _ := bytes.Cut(line, []byte(" "))
		lo, hi, ok := bytes.Cut(span, []byte("-"))
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		// Through the raw system call: the range is not Go memory, so no
		// unsafe.Pointer is made of it.
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno != 0 {
			s.log.Debug().Err(errno).Msg("releasing mapped store pages")
		}
	}
}

// mappedPath is the name /proc/self/maps gives the store file: absolute,
// with symbolic links resolved.
func mappedPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}
