package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/clock"
)

// rosterHolder keeps the roster swappable on SIGHUP while the pipeline's
// identify stage reads it lock-free.
type rosterHolder struct {
	path    string
	current atomic.Pointer[school.Roster]
}

func (r *rosterHolder) reload() error {
	ro, err := school.LoadRosterIfAny(r.path)
	if err != nil {
		return fmt.Errorf("school.roster: %w", err)
	}
	if ro != nil { // none imported yet: cards are counted as unknown
		r.current.Store(ro)
	}
	return nil
}

// get returns the roster in force, nil when none was imported.
func (r *rosterHolder) get() *school.Roster { return r.current.Load() }

// card maps a badge UID to a roster id for the identify stage.
func (r *rosterHolder) card(uid string) (string, bool) {
	ro := r.current.Load()
	if ro == nil {
		return uid, false
	}
	p, ok := ro.ByCard(uid)
	return p.ID, ok
}

// applyCalibrations puts each skin-mode device's stored calibration
// record (reference − mean of what it read) in force over its configured
// offset, once the store is open; pipeline.New started from the configured
// compensation alone.
func (g *gate) applyCalibrations() error {
	records, err := g.store.Calibrations()
	if err != nil {
		return err
	}
	for i, d := range g.devices {
		if rec, ok := records[d.Name]; ok && d.Mode == pipeline.ModeSkin {
			err := g.pipe.SetCompensation(uint16(i), pipeline.Compensation{
				Mode: d.Mode, OffsetC: d.OffsetC + rec.OffsetC, Gain: d.Gain, CalibrationID: rec.ID,
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// needsStore says whether device i's readings depend on what the store
// holds (a skin-mode device's calibration), so that it starts only once the
// store is open.
func (g *gate) needsStore(i int) bool { return g.devices[i].Mode == pipeline.ModeSkin }

func (a anchorFile) load() []clock.Anchor {
	b, err := os.ReadFile(a.path())
	if err != nil {
		return nil
	}
	var anchors []clock.Anchor
	if json.Unmarshal(b, &anchors) != nil {
		return nil
	}
	return anchors
}

// maxAnchors bounds the anchors kept: events of older boots waiting in
// the outbox (a box offline across several reboots) still get corrected.
const maxAnchors = 16

// save adds the anchor of this boot to the file, keeping the latest ones.
func (a anchorFile) save(an clock.Anchor) error {
	anchors := []clock.Anchor{an}
	for _, old := range a.load() {
		if old.BootID != an.BootID && len(anchors) < maxAnchors {
			anchors = append(anchors, old)
		}
	}
	b, err := json.Marshal(anchors)
	if err != nil {
		return err
	}
	tmp := a.path() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("clock anchor: %w", err)
	}
	return os.Rename(tmp, a.path())
}

// patientStore waits while the store's writer queue is full instead of
// dropping the event: it runs on a sink's own goroutine, whose ring absorbs
// the wait (and counts an overflow if the card stalls for long), never on
// the lamp path.
type patientStore struct{ *storage.Store }

func (p patientStore) Append(ev event.Event) error {
	for {
		err := p.Store.Append(ev)
		if !errors.Is(err, storage.ErrBusy) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tagReading adds the school's view of a reading: its check round and,
// for a rostered person, whether they arrived after their grade's window.
func (g *gate) tagReading(m *pipeline.Measurement, r *event.Reading) {
	at := time.Unix(0, m.Wall)
	if !plausible(at) {
		return // a wall clock at 1970 knows no rounds
	}
	r.Round = g.sched.Round(at)
	if p, ok := g.roster.get().ByID(r.PersonID); ok && p.Grade != "" {
		r.Late = g.sched.Late(p.Grade, at)
	}
}
