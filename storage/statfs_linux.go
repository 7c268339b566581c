package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// diskRoom returns the bytes the file holds on disk (its allocated blocks;
// bbolt grows it sparsely) and the bytes the filesystem can still give it.
func diskRoom(path string) (allocated, free int64, err error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, 0, fmt.Errorf("storage: stat %s: %w", path, err)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &fs); err != nil {
		return 0, 0, fmt.Errorf("storage: statfs %s: %w", filepath.Dir(path), err)
	}
	return int64(st.Blocks) * 512, int64(fs.Bavail) * int64(fs.Bsize), nil
}

// allocate makes path a file of n bytes allocated on disk (fallocate), so
// the space stays the store's whatever other programs write.
func allocate(path string, n int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = syscall.Fallocate(int(f.Fd()), 0, 0, n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("storage: reserve %s: %w", path, err)
	}
	return nil
}
