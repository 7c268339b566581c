package localapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
)

// day reads the date query parameter; none is today.
func (s *Server) day(q url.Values) (school.Day, error) {
	date := q.Get("date")
	if date == "" {
		return s.o.Office.Today(), nil
	}
	return s.o.Office.ParseDay(date)
}

// parseRange reads the from/to dates of export (local days, inclusive).
func (s *Server) parseRange(q url.Values) (from, to time.Time, err error) {
	f, err := s.o.Office.ParseDay(q.Get("from"))
	if err != nil {
		return from, to, fmt.Errorf("-from: %w", err)
	}
	t, err := s.o.Office.ParseDay(q.Get("to"))
	if err != nil {
		return from, to, fmt.Errorf("-to: %w", err)
	}
	return f.Start, t.End, nil
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("format") == "jsonl" {
		from, to, err := s.parseRange(q)
		if err != nil {
			apiError(w, http.StatusBadRequest, err)
			return
		}
		w.Header().Set("Content-Type", "application/jsonl")
		sw := &sentWriter{w: w}
		if err := storage.ExportJSONL(sw, s.o.Store, from, to, s.o.Office.Location()); err != nil {
			s.o.Logger.Error().Err(err).Msg("export")
			sw.fail(err)
		}
		return
	}
	req, err := office.ParseRequest(q)
	if err == nil && req.Format != office.FormatCSV {
		// The companion makes the workbook from the CSV tables: excelize
		// would hold tens of MiB in the gate's process.
		err = fmt.Errorf("-format %s: the daemon writes csv, gatescreen export makes the workbook", req.Format)
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	// Write checks the days before it writes anything, so a bad one is
	// still answered as such.
	sw := &sentWriter{w: w}
	if err := s.o.Office.Ledger().Write(sw, req); err != nil {
		s.o.Logger.Error().Err(err).Msg("export")
		sw.fail(err)
	}
}

// report answers a day's daily report: what was sent for a day whose
// report was sent, today so far tallied now.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.ofDay(w, r, func(day school.Day) (any, error) { return s.o.Office.Report(day) })
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// drill passes a simulated flagged person through the real flow on a lane.
func (s *Server) drill(w http.ResponseWriter, r *http.Request) {
	lane := r.URL.Query().Get("lane")
	tempC := 38.2
	if v := r.URL.Query().Get("temp"); v != "" {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil {
			apiError(w, http.StatusBadRequest, fmt.Errorf("-temp %q: want a body temperature in °C", v))
			return
		}
		tempC = t
	}
	if err := s.o.Office.Drill(lane, tempC); err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	fmt.Fprintf(w, "drill on lane %s: a simulated person at %.1f °C was sent through the gate; every event it causes is marked drill\n", lane, tempC)
}

func (s *Server) calibrate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref, err := strconv.ParseFloat(q.Get("reference"), 64)
	if err != nil {
		apiError(w, http.StatusBadRequest, fmt.Errorf("-reference %q: want the reference temperature in °C", q.Get("reference")))
		return
	}
	n, _ := strconv.Atoi(q.Get("samples"))
	timeout, err := time.ParseDuration(q.Get("timeout"))
	if err != nil || timeout <= 0 {
		timeout = 2 * time.Minute
	}
	rec, err := s.o.Calibrator.Calibrate(r.Context(), q.Get("device"), ref, n, timeout)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, rec)
}

func (s *Server) calibrateUndo(w http.ResponseWriter, r *http.Request) {
	rec, err := s.o.Calibrator.Undo(r.Context(), r.URL.Query().Get("device"))
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, rec)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) rosterReload(w http.ResponseWriter, _ *http.Request) {
	if err := s.o.Roster.Reload(); err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	n := 0
	if ro := s.o.Roster.Get(); ro != nil {
		n = len(ro.People)
	}
	fmt.Fprintf(w, "the running daemon now knows %d people\n", n)
}

// backup streams a consistent copy of the live store (`gatescreen
// backup`). Its Content-Length is the copy's size, so a client cut off
// midway sees a short body, never a file that looks whole.
func (s *Server) backup(w http.ResponseWriter, _ *http.Request) {
	started := false
	n, err := s.o.Store.Backup(w, func(size int64) {
		started = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	})
	if err != nil {
		s.o.Logger.Error().Err(err).Int64("bytes", n).Msg("backup failed")
		if !started {
			apiError(w, http.StatusInternalServerError, err)
		}
		return
	}
	s.o.Logger.Info().Int64("bytes", n).Msg("backup taken")
}

// absences answers the day's follow-up list (names included: the local
// API is the box's own).
func (s *Server) absences(w http.ResponseWriter, r *http.Request) {
	if list, ok := s.ofDay(w, r, func(day school.Day) (any, error) { return s.o.Office.Absentees(day) }); ok {
		writeJSON(w, list)
	}
}

// ofDay is what get finds for the day of the request's date parameter
// (none: today); a bad date is answered 400, a failed get 500, and ok is
// false.
func (s *Server) ofDay(w http.ResponseWriter, r *http.Request, get func(school.Day) (any, error)) (v any, ok bool) {
	day, err := s.day(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return nil, false
	}
	if v, err = get(day); err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return nil, false
	}
	return v, true
}

// absenceRecord stores a class teacher's record of an absent student.
func (s *Server) absenceRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	day, err := s.day(q)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	a := storage.Absence{Day: day.Date, PersonID: q.Get("id"), Reason: q.Get("reason"), Note: q.Get("note"),
		SeenDoctor: q.Get("seen_doctor") == "true", By: q.Get("by")}
	if sy := q.Get("symptoms"); sy != "" {
		a.Symptoms = strings.Split(sy, ",")
	}
	if a.By == "" {
		a.By = "teacher"
	}
	msg, err := s.o.Office.Record(day, a)
	switch {
	case errors.Is(err, screen.ErrBadAbsence):
		apiError(w, http.StatusBadRequest, err)
	case err != nil:
		apiError(w, http.StatusInternalServerError, err)
	default:
		fmt.Fprintln(w, msg)
	}
}
