package sim

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
)

// serialEnd is a simulated device's end of its cable: the master side of a
// pseudo-terminal that unplugging closes and replugging replaces.
type serialEnd struct {
	name         string
	writeTimeout time.Duration
	log          zerolog.Logger
	// onPlug runs for every new master, e.g. to read the host's commands.
	onPlug func(master *os.File)

	mu     sync.Mutex
	pair   *ptyport.Pair // nil while unplugged; pair.Master honours deadlines
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
	s.pair = p
	if s.onPlug != nil {
		s.onPlug(p.Master)
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
	err := s.pair.Close()
	s.lastPath = s.pair.Path
	s.log.Info().Str("path", s.pair.Path).Msg("unplugged")
	s.pair = nil
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
	if err := s.pair.Master.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
		s.log.Warn().Err(err).Msg("write deadline")
		return false
	}
	if _, err := s.pair.Master.Write(b); err != nil {
		s.log.Debug().Err(err).Int("bytes", len(b)).Msg("write dropped")
		return false
	}
	return true
}
