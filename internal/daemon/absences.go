package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
)

// followUpDays bounds how far back an open absence is traced for "since".
const followUpDays = 30

// openAbsence is one absentee of a day in the follow-up list: who, what was
// recorded today, and since when the absence runs (the earliest of the
// days before in a row with a record).
type openAbsence struct {
	PersonID string           `json:"person_id"`
	Name     string           `json:"name"`
	Class    string           `json:"class"`
	Grade    string           `json:"grade"`
	Since    string           `json:"since"`
	Today    *storage.Absence `json:"today,omitempty"`
	Last     *storage.Absence `json:"last,omitempty"` // the latest record before today
}

// absentees lists the day's absentees with their follow-up, by class.
func (g *gate) absentees(day school.Day) ([]openAbsence, *school.Tally, error) {
	t, err := g.tally(day)
	if err != nil {
		return nil, nil, err
	}
	at := g.now()
	if at.After(day.End) {
		at = day.End
	}
	today, err := g.store.Absences(day.Date)
	if err != nil {
		return nil, nil, err
	}
	var out []openAbsence
	for _, people := range t.Absentees(at) {
		for _, p := range people {
			o := openAbsence{PersonID: p.ID, Name: p.Name, Class: p.Class, Grade: p.Grade, Since: day.Date}
			if a, ok := today[p.ID]; ok {
				o.Today = &a
			}
			out = append(out, o)
		}
	}
	// Trace each absence back through the days before with a record.
	prev := day
	for range followUpDays {
		prev = g.sched.DayOf(prev.Start.Add(-1))
		recs, err := g.store.Absences(prev.Date)
		if err != nil {
			return nil, nil, err
		}
		traced := false
		for i := range out {
			if a, ok := recs[out[i].PersonID]; ok && out[i].Since == g.sched.DayOf(prev.End).Date {
				out[i].Since = prev.Date
				if out[i].Last == nil {
					out[i].Last = &a
				}
				traced = true
			}
		}
		if !traced {
			break
		}
	}
	slices.SortFunc(out, func(a, b openAbsence) int {
		return strings.Compare(a.Grade+"\x00"+a.Class+"\x00"+a.PersonID, b.Grade+"\x00"+b.Class+"\x00"+b.PersonID)
	})
	return out, t, nil
}

func (g *gate) dayParam(r *http.Request) (school.Day, error) {
	date := r.URL.Query().Get("date")
	if date == "" {
		date = g.sched.Day(g.now())
	}
	return g.sched.ParseDay(date)
}

// apiAbsences answers the day's follow-up list (names included: the local
// API is the box's own).
func (g *gate) apiAbsences(w http.ResponseWriter, r *http.Request) {
	day, err := g.dayParam(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	list, _, err := g.absentees(day)
	if err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

// apiAbsenceRecord stores a class teacher's record of an absent student.
func (g *gate) apiAbsenceRecord(w http.ResponseWriter, r *http.Request) {
	day, err := g.dayParam(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	q := r.URL.Query()
	a := storage.Absence{Day: day.Date, PersonID: q.Get("id"), Reason: q.Get("reason"), Note: q.Get("note"),
		SeenDoctor: q.Get("seen_doctor") == "true", By: q.Get("by")}
	if s := q.Get("symptoms"); s != "" {
		a.Symptoms = strings.Split(s, ",")
	}
	if a.By == "" {
		a.By = "teacher"
	}
	msg, err := g.recordAbsence(day, a)
	switch {
	case errors.Is(err, screen.ErrBadAbsence):
		apiError(w, http.StatusBadRequest, err)
	case err != nil:
		apiError(w, http.StatusInternalServerError, err)
	default:
		fmt.Fprintln(w, msg)
	}
}

// RecordAbsence stores what a teacher or the doctor recorded on the gate
// screen about one of today's absentees (screen.AbsenceBook).
func (g *gate) RecordAbsence(r screen.AbsenceRecord) (string, error) {
	day := g.sched.DayOf(g.now())
	return g.recordAbsence(day, storage.Absence{Day: day.Date, PersonID: r.PersonID, Reason: r.Reason,
		Symptoms: r.Symptoms, SeenDoctor: r.SeenDoctor, Note: r.Note, By: r.By})
}

// recordAbsence checks and stores a record of day; what the recorder must
// correct wraps screen.ErrBadAbsence.
func (g *gate) recordAbsence(day school.Day, a storage.Absence) (string, error) {
	a.At = g.now()
	if err := a.Validate(); err != nil {
		return "", fmt.Errorf("%w: %v", screen.ErrBadAbsence, err)
	}
	p, ok := g.roster.get().ByID(a.PersonID)
	if !ok || p.Role != "student" {
		return "", fmt.Errorf("%w: %q is not a student of the roster", screen.ErrBadAbsence, a.PersonID)
	}
	_, t, err := g.absentees(day)
	if err != nil {
		return "", err
	}
	if t.Seen(a.PersonID) {
		return "", fmt.Errorf("%w: %s %s was measured at the gate on %s: not absent", screen.ErrBadAbsence, p.ID, p.Name, day.Date)
	}
	if err := g.store.PutAbsence(a); err != nil {
		return "", err
	}
	g.log.Info().Str("day", a.Day).Str("reason", a.Reason).Str("by", a.By).Msg("absence recorded")
	return fmt.Sprintf("recorded: %s %s (%s) absent on %s: %s", p.ID, p.Name, p.Class, a.Day, a.Reason), nil
}

var _ screen.AbsenceBook = (*gate)(nil)
