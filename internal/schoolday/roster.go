package schoolday

import (
	"fmt"
	"sync/atomic"

	"github.com/gatescreen/gatescreen/internal/school"
)

// Roster keeps the roster swappable (SIGHUP, `gatescreen roster reload`)
// while the pipeline's identify stage reads it lock-free.
type Roster struct {
	path    string
	current atomic.Pointer[school.Roster]
}

// NewRoster loads the roster file at path (school.roster), if there is one.
func NewRoster(path string) (*Roster, error) {
	r := &Roster{path: path}
	return r, r.Reload()
}

// Reload reads the roster file again; a missing one keeps the roster in
// force.
func (r *Roster) Reload() error {
	ro, err := school.LoadRosterIfAny(r.path)
	if err != nil {
		return fmt.Errorf("school.roster: %w", err)
	}
	if ro != nil { // none imported yet: cards are counted as unknown
		r.current.Store(ro)
	}
	return nil
}

// Get returns the roster in force, nil when none was imported.
func (r *Roster) Get() *school.Roster { return r.current.Load() }

// Card maps a badge UID to a roster id for the identify stage.
func (r *Roster) Card(uid string) (string, bool) {
	ro := r.current.Load()
	if ro == nil {
		return uid, false
	}
	p, ok := ro.ByCard(uid)
	return p.ID, ok
}
