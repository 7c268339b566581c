package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// seqBlock is how many sequence numbers one write of the side file
// reserves: one small fsync'ed write every 65 536 events (4.5 h at gate rate).
const seqBlock = 1 << 16

var errBadReservation = errors.New("bad sequence reservation")

// seqReserve is the side file "<store>.seq" holding a ceiling above every
// sequence handed out. It outlives a quarantined store file, so the fresh
// file never reuses an event id the district may already have seen.
type seqReserve struct {
	path     string
	reserved uint64
}

func loadSeqReserve(path string) (*seqReserve, error) {
	r := &seqReserve{path: path}
	b, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("storage: read %s: %w", path, err)
	}
	if r.reserved, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
		r.reserved = 0
		return r, fmt.Errorf("storage: %s: %w: %q", path, errBadReservation, b)
	}
	return r, nil
}

// ensure makes seq reserved, durably, before anyone can see it.
func (r *seqReserve) ensure(seq uint64) error {
	if seq <= r.reserved {
		return nil
	}
	next := seq - 1 + seqBlock
	tmp := r.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("storage: reserve sequences: %w", err)
	}
	_, err = f.WriteString(strconv.FormatUint(next, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, r.path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(r.path))
	}
	if err != nil {
		return fmt.Errorf("storage: reserve sequences in %s: %w", r.path, err)
	}
	r.reserved = next
	return nil
}
