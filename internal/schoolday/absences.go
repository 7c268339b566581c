package schoolday

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
)

// followUpDays bounds how far back an open absence is traced for "since".
const followUpDays = 30

// Absentee is one absentee of a day in the follow-up list: who, what was
// recorded today, and since when the absence runs (the earliest of the
// days before in a row with a record).
type Absentee struct {
	PersonID string           `json:"person_id"`
	Name     string           `json:"name"`
	Class    string           `json:"class"`
	Grade    string           `json:"grade"`
	Since    string           `json:"since"`
	Today    *storage.Absence `json:"today,omitempty"`
	Last     *storage.Absence `json:"last,omitempty"` // the latest record before today
}

// Absentees lists the day's absentees with their follow-up, by grade,
// class and id.
func (f *Office) Absentees(day school.Day) ([]Absentee, error) {
	list, _, err := f.absentees(day)
	return list, err
}

func (f *Office) absentees(day school.Day) ([]Absentee, *school.Tally, error) {
	t, err := f.tally(day)
	if err != nil {
		return nil, nil, err
	}
	at := f.now()
	if at.After(day.End) {
		at = day.End
	}
	today, err := f.o.Store.Absences(day.Date)
	if err != nil {
		return nil, nil, err
	}
	var out []Absentee
	for _, people := range t.Absentees(at) {
		for _, p := range people {
			o := Absentee{PersonID: p.ID, Name: p.Name, Class: p.Class, Grade: p.Grade, Since: day.Date}
			if a, ok := today[p.ID]; ok {
				o.Today = &a
			}
			out = append(out, o)
		}
	}
	if err := f.traceBack(day, out); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(out, func(a, b Absentee) int {
		return strings.Compare(a.Grade+"\x00"+a.Class+"\x00"+a.PersonID, b.Grade+"\x00"+b.Class+"\x00"+b.PersonID)
	})
	return out, t, nil
}

// traceBack follows each absence back through the days before day with a
// record, up to followUpDays.
func (f *Office) traceBack(day school.Day, out []Absentee) error {
	sched := f.o.Schedule
	prev := day
	for range followUpDays {
		prev = sched.DayOf(prev.Start.Add(-1))
		recs, err := f.o.Store.Absences(prev.Date)
		if err != nil {
			return err
		}
		traced := false
		for i := range out {
			if a, ok := recs[out[i].PersonID]; ok && out[i].Since == sched.DayOf(prev.End).Date {
				out[i].Since = prev.Date
				if out[i].Last == nil {
					out[i].Last = &a
				}
				traced = true
			}
		}
		if !traced {
			return nil
		}
	}
	return nil
}

// RecordAbsence stores what a teacher or the doctor recorded on the gate
// screen about one of today's absentees (screen.AbsenceBook).
func (f *Office) RecordAbsence(r screen.AbsenceRecord) (string, error) {
	day := f.Today()
	return f.Record(day, storage.Absence{Day: day.Date, PersonID: r.PersonID, Reason: r.Reason,
		Symptoms: r.Symptoms, SeenDoctor: r.SeenDoctor, Note: r.Note, By: r.By})
}

// Record checks and stores a record of day and returns its confirmation;
// what the recorder must correct wraps screen.ErrBadAbsence.
func (f *Office) Record(day school.Day, a storage.Absence) (string, error) {
	a.At = f.now()
	if err := a.Validate(); err != nil {
		return "", fmt.Errorf("%w: %v", screen.ErrBadAbsence, err)
	}
	p, ok := f.o.Roster.Get().ByID(a.PersonID)
	if !ok || p.Role != "student" {
		return "", fmt.Errorf("%w: %q is not a student of the roster", screen.ErrBadAbsence, a.PersonID)
	}
	_, t, err := f.absentees(day)
	if err != nil {
		return "", err
	}
	if t.Seen(a.PersonID) {
		return "", fmt.Errorf("%w: %s %s was measured at the gate on %s: not absent", screen.ErrBadAbsence, p.ID, p.Name, day.Date)
	}
	if err := f.o.Store.PutAbsence(a); err != nil {
		return "", err
	}
	f.o.Logger.Info().Str("day", a.Day).Str("reason", a.Reason).Str("by", a.By).Msg("absence recorded")
	return fmt.Sprintf("recorded: %s %s (%s) absent on %s: %s", p.ID, p.Name, p.Class, a.Day, a.Reason), nil
}

var _ screen.AbsenceBook = (*Office)(nil)
