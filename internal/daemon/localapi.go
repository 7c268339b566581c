package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatescreen/gatescreen/internal/localapi"
	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/storage"
)

// serveLocalAPI serves the companion commands on the unix socket until ctx
// ends, and returns the socket path.
func (g *gate) serveLocalAPI(ctx context.Context) (string, error) {
	path := localapi.SocketPath(g.cfg.Storage.Path)
	ln, err := localapi.Listen(path)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/export", g.apiExport)
	mux.HandleFunc("GET /v1/report", g.apiReport)
	mux.HandleFunc("POST /v1/drill", g.apiDrill)
	mux.HandleFunc("POST /v1/calibrate", g.apiCalibrate)
	mux.HandleFunc("POST /v1/calibrate/undo", g.apiCalibrateUndo)
	mux.HandleFunc("POST /v1/roster/reload", g.apiRosterReload)
	mux.HandleFunc("GET /v1/backup", g.apiBackup)
	mux.HandleFunc("GET /v1/absences", g.apiAbsences)
	mux.HandleFunc("POST /v1/absences", g.apiAbsenceRecord)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error().Err(err).Msg("local API stopped")
		}
	}()
	return path, nil
}

func apiError(w http.ResponseWriter, code int, err error) {
	http.Error(w, err.Error(), code)
}

// parseRange reads the from/to dates of export (local days, inclusive).
func parseRange(g *gate, q func(string) string) (from, to time.Time, err error) {
	f, err := g.sched.ParseDay(q("from"))
	if err != nil {
		return from, to, fmt.Errorf("-from: %w", err)
	}
	t, err := g.sched.ParseDay(q("to"))
	if err != nil {
		return from, to, fmt.Errorf("-to: %w", err)
	}
	return f.Start, t.End, nil
}

func (g *gate) apiExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("format") == "jsonl" {
		from, to, err := parseRange(g, q.Get)
		if err != nil {
			apiError(w, http.StatusBadRequest, err)
			return
		}
		w.Header().Set("Content-Type", "application/jsonl")
		sw := &sentWriter{w: w}
		if err := storage.ExportJSONL(sw, g.store, from, to, g.loc); err != nil {
			g.log.Error().Err(err).Msg("export")
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
	if err := g.ledger().Write(sw, req); err != nil {
		g.log.Error().Err(err).Msg("export")
		sw.fail(err)
	}
}

// sentWriter is a response body that knows whether it began. An error
// before the first byte is answered as an error; after it the status 200 is
// gone, so the connection is cut: the client sees a body cut short, never a
// ledger that looks whole with an error message at its end.
type sentWriter struct {
	w    http.ResponseWriter
	sent bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	s.sent = s.sent || len(p) > 0
	return s.w.Write(p)
}

func (s *sentWriter) fail(err error) {
	if s.sent {
		panic(http.ErrAbortHandler)
	}
	apiError(s.w, http.StatusBadRequest, err)
}

// ledger is the office's view of the store: the roster in force names
// the people, the lanes their labels.
func (g *gate) ledger() *office.Ledger {
	return &office.Ledger{Store: g.store, Sched: g.sched, Roster: g.roster.get(), Labels: g.cfg.LaneLabels(),
		PseudonymKey: g.o.Secrets.PseudonymKey, Now: g.now()}
}

func (g *gate) apiReport(w http.ResponseWriter, r *http.Request) {
	date := r.URL.Query().Get("date")
	if date == "" {
		date = g.sched.Day(g.now())
	}
	day, err := g.sched.ParseDay(date)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	// A day whose report was sent answers with what was sent; today so far
	// is tallied now.
	rep, ok, err := g.store.Daily(day.Date)
	if err == nil && !ok {
		at := g.now()
		if at.After(day.End) {
			at = day.End
		}
		rep, err = g.buildDaily(day, at)
	}
	if err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// apiDrill passes a simulated flagged person through the real flow on a lane.
func (g *gate) apiDrill(w http.ResponseWriter, r *http.Request) {
	lane := r.URL.Query().Get("lane")
	tempC := 38.2
	if s := r.URL.Query().Get("temp"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			apiError(w, http.StatusBadRequest, fmt.Errorf("-temp %q: want a body temperature in °C", s))
			return
		}
		tempC = v
	}
	if err := g.Drill(lane, tempC); err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	fmt.Fprintf(w, "drill on lane %s: a simulated person at %.1f °C was sent through the gate; every event it causes is marked drill\n", lane, tempC)
}

func (g *gate) apiCalibrate(w http.ResponseWriter, r *http.Request) {
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
	rec, err := g.calib.run(r.Context(), q.Get("device"), ref, n, timeout)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rec)
}

func (g *gate) apiCalibrateUndo(w http.ResponseWriter, r *http.Request) {
	rec, err := g.calib.undo(r.Context(), r.URL.Query().Get("device"))
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rec)
}

func (g *gate) apiRosterReload(w http.ResponseWriter, _ *http.Request) {
	if err := g.roster.reload(); err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	n := 0
	if ro := g.roster.get(); ro != nil {
		n = len(ro.People)
	}
	fmt.Fprintf(w, "the running daemon now knows %d people\n", n)
}
