//go:build !linux

package storage

import bolt "go.etcd.io/bbolt"

// releaseMapped is Linux-only (see mapping_linux.go); elsewhere the pages
// stay mapped.
func releaseMapped(*bolt.Tx) {}
