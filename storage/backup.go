package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// Backup writes a consistent copy of the store to w while the store runs:
// one read transaction, so appends and acknowledgements go on meanwhile.
// The copy is a store file of its own (Restore puts it back). size, if not
// nil, learns the copy's length before the first byte is written (an HTTP
// Content-Length, so that a copy cut short is seen as such).
func (s *Store) Backup(w io.Writer, size func(int64)) (n int64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("storage: back up %s: %w", s.path, err)
	}
	return n, nil
}

// restoreJump is how far a restore without a sequence reservation moves the
// sequence past the backup's last: more events than a box stores in a year
// at a busy gate, so no id the original box handed out after the backup is
// used again.
const restoreJump = 1 << 21

// ErrBadBackup is returned by Restore for a file that is not a sound store.
var ErrBadBackup = errors.New("storage: the backup is not a sound store file")

// Restore replaces the store file at path with a copy of the backup from.
// The backup passes the same integrity check as a store at Open (a damaged
// one is refused and nothing changes); the file in place, if any, is kept
// as "<path>.before-restore-<time>", which is returned. The restored store
// continues its sequence above every id handed out before (the reservation
// of "<path>.seq"), so no event id the district has seen is used again, and
// it records the restore as a storage health event, uploaded like any
// other. The restored files get the owner of the file they replace (the
// daemon's user, when root restores). No process may hold path: stop the
// daemon first (ErrLocked).
func Restore(path, from string, o Opts) (aside string, err error) {
	o = o.withDefaults()
	owner, exists, err := restoreTarget(path, o.LockTimeout)
	if err != nil {
		return "", err
	}
	reservation, err := loadSeqReserve(path + ".seq")
	if err != nil {
		return "", err
	}

	staged := path + ".restoring"
	cleanStaged := func() {
		for _, suffix := range []string{"", ".seq", ".seq.tmp", ".reserve"} {
			_ = os.Remove(staged + suffix)
		}
	}
	cleanStaged()
	if err := copyFileSynced(from, staged); err != nil {
		return "", err
	}
	defer cleanStaged()

	st, err := openBackup(staged, from, o)
	if err != nil {
		return "", err
	}
	err = st.continueAfterRestore(reservation.reserved, filepath.Base(from))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("storage: restore %s from %s: %w", path, from, err)
	}
	return putRestoredInPlace(path, staged, owner, exists, reservation.reserved, o.Now())
}

// restoreTarget returns whose files the restored ones become (the store's
// in place, or its directory's when there is none) and proves that no
// process holds the store.
func restoreTarget(path string, lockTimeout time.Duration) (owner fs.FileInfo, exists bool, err error) {
	owner, err = os.Stat(path)
	exists = err == nil
	if errors.Is(err, fs.ErrNotExist) {
		owner, err = os.Stat(filepath.Dir(path))
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: restore %s: %w", path, err)
	}
	if exists {
		unlock, err := lockFile(path, lockTimeout)
		if err != nil {
			return nil, false, err
		}
		unlock() // only proving nobody holds it; the daemon is stopped
	}
	return owner, exists, nil
}

// openBackup opens the staged copy of the backup from with the integrity
// check of Open; a copy that fails it is refused, its quarantined file
// removed.
func openBackup(staged, from string, o Opts) (*Store, error) {
	var damage string
	o.OnHealth = func(h event.Health) {
		if strings.HasPrefix(h.Reason, "quarantined: ") {
			damage = strings.TrimPrefix(h.Reason, "quarantined: ")
		}
	}
	st, err := Open(staged, o)
	if damage != "" {
		if st != nil {
			_ = st.Close()
		}
		_ = os.Remove(damage)
		return nil, fmt.Errorf("%w: %s failed the integrity check; nothing was changed", ErrBadBackup, from)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadBackup, from, err)
	}
	return st, nil
}

// continueAfterRestore moves the restored store's sequence to reserved (or
// restoreJump past the backup's last without one) and records the restore
// of the backup named backup as a storage health event.
func (s *Store) continueAfterRestore(reserved uint64, backup string) error {
	return s.update(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		floor, why := reserved, ""
		if floor == 0 {
			// A box that never stored here (a replacement with a fresh
			// card): the box the backup came from went on handing out ids
			// after it. Jump well clear of them.
			floor, why = events.Sequence()+restoreJump, fmt.Sprintf(" (no sequence reservation here: %d above the backup's last)", restoreJump)
		}
		if events.Sequence() < floor {
			if err := events.SetSequence(floor); err != nil {
				return err
			}
		}
		continuesAt := events.Sequence() + 1
		ev := event.Event{Kind: event.KindHealth, Urgent: true, Body: mustJSON(event.Health{Component: "storage",
			State: event.HealthWarning, Reason: fmt.Sprintf("restored from backup %s; sequence continues at %d%s", backup, continuesAt, why)})}
		s.o.Stamp(&ev)
		_, err := s.putEvent(tx, &ev)
		return err
	})
}

// putRestoredInPlace keeps the store at path aside (if exists), renames the
// staged store to path with owner's owner, and takes over its sequence
// reservation when it went above reserved.
func putRestoredInPlace(path, staged string, owner fs.FileInfo, exists bool, reserved uint64, now time.Time) (aside string, err error) {
	if exists {
		aside = path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(path, aside); err != nil {
			return "", fmt.Errorf("storage: restore: keep %s aside: %w", path, err)
		}
	}
	if err := chownLike(staged, owner); err != nil {
		return "", err
	}
	if err := os.Rename(staged, path); err != nil {
		return aside, fmt.Errorf("storage: restore: put %s in place: %w", path, err)
	}
	// The staged store reserved sequences above the old reservation while
	// it stored the health event: that reservation is the store's now.
	if r, err := loadSeqReserve(staged + ".seq"); err == nil && r.reserved > reserved {
		if err := chownLike(staged+".seq", owner); err != nil {
			return aside, err
		}
		if err := os.Rename(staged+".seq", path+".seq"); err != nil {
			return aside, fmt.Errorf("storage: restore: sequence reservation: %w", err)
		}
	}
	return aside, SyncDir(filepath.Dir(path))
}

// copyFileSynced copies src to a new file dst and makes it durable.
func copyFileSynced(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: restore: copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// chownLike gives path the owner of like, as far as this process may: root
// hands a restored store to the daemon's user; the user itself changes
// nothing.
func chownLike(path string, like fs.FileInfo) error {
	uid, gid, ok := ownerOf(like)
	if !ok || (uid == os.Getuid() && gid == os.Getgid()) {
		return nil
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("storage: restore: give %s to uid %d: %w", path, uid, err)
	}
	return nil
}
