//go:build !linux

package storage

// releaseMapped is Linux-only (see mapping_linux.go); elsewhere the pages
// stay mapped.
func (s *Store) releaseMapped() {}

func mappedPath(path string) string { return path }
