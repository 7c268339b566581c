package sim

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/gatescreen/gatescreen/drivers/ptyport"
)

// serialEnd is a simulated device's end of its cable: the master side of a
// pseudo-terminal that unplugging closes and replugging replaces.
type serialEnd struct {
	name         string
	writeTimeout time.Duration
	log          zerolog.Logger
	// onPlug runs for every new master, e.g. to read the host's commands.
	onPlug func(master *os.File)

	mu   sync.Mutex
	pair *ptyport.Pair // nil while unplugged
	// master is a non-blocking duplicate of pair.Master: the pair's own file
	// is in blocking mode (pty.Open asks for its descriptor), where write
	// deadlines have no effect and Close does not interrupt a read.
	master *os.File
	closed bool
	// lastPath is the path before the last unplug; a replug never reuses it,
	// so a host still holding the old path sees it fail.
	lastPath string
}

func (s *serialEnd) plug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pair != nil || s.closed {
		return nil
	}
	p, err := s.openNewPath()
	if err != nil {
		return fmt.Errorf("sim: %s: %w", s.name, err)
	}
	master, err := pollable(p.Master)
	if err != nil {
		p.Close()
		return fmt.Errorf("sim: %s: %s: %w", s.name, p.Path, err)
	}
	s.pair, s.master = p, master
	if s.onPlug != nil {
		s.onPlug(master)
	}
	s.log.Info().Str("path", p.Path).Msg("plugged in")
	return nil
}

// openNewPath opens a pair whose path is not lastPath. The kernel hands out
// the lowest free pty number, so while the first pair is held open the
// second one gets another.
func (s *serialEnd) openNewPath() (*ptyport.Pair, error) {
	p, err := ptyport.Open()
	if err != nil || p.Path != s.lastPath {
		return p, err
	}
	defer p.Close()
	return ptyport.Open()
}

func (s *serialEnd) unplug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unplugLocked()
}

func (s *serialEnd) unplugLocked() error {
	if s.pair == nil {
		return nil
	}
	// The duplicate goes first: while it is open the pty stays allocated.
	err := errors.Join(s.master.Close(), s.pair.Close())
	s.lastPath = s.pair.Path
	s.log.Info().Str("path", s.pair.Path).Msg("unplugged")
	s.pair, s.master = nil, nil
	if err != nil {
		return fmt.Errorf("sim: %s: unplug: %w", s.name, err)
	}
	return nil
}

// close unplugs for good: a later plug does nothing.
func (s *serialEnd) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.unplugLocked()
}

func (s *serialEnd) path() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pair == nil {
		return "", false
	}
	return s.pair.Path, true
}

func (s *serialEnd) connected() bool {
	_, ok := s.path()
	return ok
}

// write sends b, or drops it when unplugged or when the host does not take
// it within writeTimeout: a UART does not wait for a reader, and a full pty
// buffer must not stall the simulation.
func (s *serialEnd) write(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pair == nil {
		return false
	}
	if err := s.master.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
		s.log.Warn().Err(err).Msg("write deadline")
		return false
	}
	if _, err := s.master.Write(b); err != nil {
		s.log.Debug().Err(err).Int("bytes", len(b)).Msg("write dropped")
		return false
	}
	return true
}

// pollable returns a non-blocking duplicate of f that Go's poller manages.
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("dup: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("non-blocking: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
