package screen

import (
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// Absentees are the students not yet measured today, per class, of the
// grades whose arrival window has closed (school.Tally.Absentees): the
// class teachers follow them up (因病缺勤追踪).
type Absentees struct {
	// Day is the local date the list is for, "2006-01-02".
	Day     string        `json:"day"`
	Classes []AbsentClass `json:"classes"`
}

// AbsentClass is one class's absentees. Names are personal data: only a
// logged-in session sees them, the public screen shows the count.
type AbsentClass struct {
	Grade string   `json:"grade,omitempty"`
	Class string   `json:"class"`
	Names []string `json:"names"`
	// IDs are the roster ids of Names, in the same order, for the form
	// that records why each is absent (AbsenceBook).
	IDs []string `json:"ids,omitempty"`
}

// AbsenceBook records what a class teacher (or the doctor) says of an
// absent student; the daemon keeps it on the box (storage's absence
// records) and counts it in the daily report.
type AbsenceBook interface {
	// RecordAbsence stores a; an error the teacher can correct (not a
	// student, measured today, a bad reason) wraps ErrBadAbsence.
	RecordAbsence(a AbsenceRecord) (confirmation string, err error)
}

// ErrBadAbsence marks a record the teacher must correct (400).
var ErrBadAbsence = errors.New("bad absence record")

// AbsenceRecord is one absentee's follow-up for today.
type AbsenceRecord struct {
	PersonID string `json:"id"`
	// Reason is illness, personal_leave or unknown; Symptoms (fever,
	// cough, other) and SeenDoctor are for illness.
	Reason     string   `json:"reason"`
	Symptoms   []string `json:"symptoms,omitempty"`
	SeenDoctor bool     `json:"seen_doctor,omitempty"`
	Note       string   `json:"note,omitempty"`
	// By is the session's role: teacher or doctor (set by the screen).
	By string `json:"-"`
}

// serveRecordAbsence stores a logged-in teacher's or doctor's record.
func (s *Screen) serveRecordAbsence(w http.ResponseWriter, r *http.Request, _, role string) {
	if s.o.Absences == nil {
		writeError(w, http.StatusForbidden, "absences_disabled")
		return
	}
	var a AbsenceRecord
	if !decodeJSON(w, r, &a) {
		return
	}
	a.By = role
	msg, err := s.o.Absences.RecordAbsence(a)
	switch {
	case errors.Is(err, ErrBadAbsence):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.log.Error().Err(err).Msg("recording an absence")
		writeError(w, http.StatusInternalServerError, "action_failed")
		return
	}
	s.log.Info().Str("role", role).Str("reason", a.Reason).Msg("absence recorded")
	writeJSON(w, http.StatusOK, map[string]string{"message": msg})
}

// SetAbsentees shows today's absentees: counts per class on the public
// screen, the names to a logged-in session. Each call replaces the list.
func (s *Screen) SetAbsentees(a Absentees) {
	classes := make([]AbsentClass, 0, len(a.Classes))
	for _, c := range a.Classes {
		if len(c.Names) == 0 {
			continue
		}
		c.Names = append([]string(nil), c.Names...)
		c.IDs = append([]string(nil), c.IDs...)
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool {
		if classes[i].Grade != classes[j].Grade {
			return classes[i].Grade < classes[j].Grade
		}
		return classes[i].Class < classes[j].Class
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.absentees = Absentees{Day: a.Day, Classes: classes}
	s.broadcast("school", func() any { return s.schoolView() })
}

// SetDaily shows a daily report: today's as it stands, or the last one
// sent. Each call replaces the report.
func (s *Screen) SetDaily(d event.Daily) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.daily = &d
	s.broadcast("school", func() any { return s.schoolView() })
}

// schoolView is the public part of the school's day: counts only, never a
// name (the daily report is what the district receives anyway).
type schoolView struct {
	// Visitors is the number registered today.
	Visitors  int              `json:"visitors"`
	Absentees absentPublicView `json:"absentees"`
	Daily     *event.Daily     `json:"daily,omitempty"`
}

type absentPublicView struct {
	Day     string             `json:"day,omitempty"`
	Total   int                `json:"total"`
	Classes []absentClassCount `json:"classes"`
}

type absentClassCount struct {
	Grade string `json:"grade,omitempty"`
	Class string `json:"class"`
	Count int    `json:"count"`
}

// schoolView is built with s.mu held.
func (s *Screen) schoolView() schoolView {
	v := schoolView{Daily: s.daily, Absentees: absentPublicView{Day: s.absentees.Day, Classes: []absentClassCount{}}}
	if s.visitorDay == s.day(s.now()) {
		v.Visitors = s.visitorCount
	}
	for _, c := range s.absentees.Classes {
		v.Absentees.Classes = append(v.Absentees.Classes, absentClassCount{Grade: c.Grade, Class: c.Class, Count: len(c.Names)})
		v.Absentees.Total += len(c.Names)
	}
	return v
}

// serveAbsentees gives the names to a logged-in session.
func (s *Screen) serveAbsentees(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.absentees
	s.mu.Unlock()
	if a.Classes == nil {
		a.Classes = []AbsentClass{}
	}
	writeJSON(w, http.StatusOK, a)
}

// requireSession admits a read of personal data by a logged-in session
// (else 401). A GET changes nothing, so it needs no CSRF token; the
// SameSite=Strict cookie and the same-origin policy keep other sites from
// reading the answer.
func (s *Screen) requireSession(doctorOnly bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.any() {
			writeError(w, http.StatusForbidden, "doctor_disabled")
			return
		}
		_, _, role, ok := s.auth.session(r, s.now())
		if !ok {
			writeError(w, http.StatusUnauthorized, "login_required")
			return
		}
		if doctorOnly && role != roleDoctor {
			writeError(w, http.StatusForbidden, "doctor_only")
			return
		}
		next(w, r)
	}
}

// day is the local date of t, "2006-01-02".
func (s *Screen) day(t time.Time) string { return t.In(s.o.Location).Format(time.DateOnly) }
