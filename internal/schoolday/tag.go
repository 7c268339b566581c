package schoolday

import (
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// TagReading adds the school's view of a reading before it is stored: its
// check round and, for a rostered person, whether they arrived after their
// grade's window (pipeline.EventSinkOpts.Tag).
func (f *Office) TagReading(m *pipeline.Measurement, r *event.Reading) {
	at := time.Unix(0, m.Wall)
	if !plausible(at) {
		return // a wall clock at 1970 knows no rounds
	}
	r.Round = f.o.Schedule.Round(at)
	if p, ok := f.o.Roster.Get().ByID(r.PersonID); ok && p.Grade != "" {
		r.Late = f.o.Schedule.Late(p.Grade, at)
	}
}
