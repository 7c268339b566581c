//go:build !linux

package storage

import "errors"

// diskRoom is Linux-only (see statfs_linux.go); elsewhere MaxSize is the
// only limit.
func diskRoom(string) (allocated, free int64, err error) {
	return 0, 0, errors.New("storage: free space not known on this system")
}

// allocate is Linux-only: elsewhere the store keeps no reserve file.
func allocate(string, int64) error {
	return errors.New("storage: no space reservation on this system")
}
