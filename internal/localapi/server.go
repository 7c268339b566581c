package localapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/internal/schoolday"
	"github.com/gatescreen/gatescreen/storage"
)

// Office is the school's day as the companions ask it (schoolday.Office).
type Office interface {
	Today() school.Day
	ParseDay(date string) (school.Day, error)
	Location() *time.Location
	Report(day school.Day) (event.Daily, error)
	Ledger() *office.Ledger
	Drill(lane string, tempC float64) error
	Absentees(day school.Day) ([]schoolday.Absentee, error)
	Record(day school.Day, a storage.Absence) (string, error)
}

// Calibrator calibrates a skin sensor and undoes it (schoolday.Calibrator).
type Calibrator interface {
	Calibrate(ctx context.Context, device string, referenceC float64, n int, timeout time.Duration) (event.Calibration, error)
	Undo(ctx context.Context, device string) (event.Calibration, error)
}

// Roster is the roster in force (schoolday.Roster).
type Roster interface {
	Reload() error
	Get() *school.Roster
}

// Opts configures NewServer; every field but Logger is required.
type Opts struct {
	Office     Office
	Calibrator Calibrator
	Roster     Roster
	// Store is the live store: the JSONL export reads it, the backup
	// copies it.
	Store  *storage.Store
	Logger zerolog.Logger
}

// Server answers the companion commands: export, report, drill,
// calibrate, roster reload, backup and absences.
type Server struct {
	o   Opts
	mux *http.ServeMux
}

// NewServer routes the local API's requests to o's parts.
func NewServer(o Opts) *Server {
	s := &Server{o: o, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/export", s.export)
	s.mux.HandleFunc("GET /v1/report", s.report)
	s.mux.HandleFunc("POST /v1/drill", s.drill)
	s.mux.HandleFunc("POST /v1/calibrate", s.calibrate)
	s.mux.HandleFunc("POST /v1/calibrate/undo", s.calibrateUndo)
	s.mux.HandleFunc("POST /v1/roster/reload", s.rosterReload)
	s.mux.HandleFunc("GET /v1/backup", s.backup)
	s.mux.HandleFunc("GET /v1/absences", s.absences)
	s.mux.HandleFunc("POST /v1/absences", s.absenceRecord)
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start serves ln on its own goroutines until ctx ends. Nobody waits for
// the shutdown: a request in flight (a backup, a calibration) gets 2 s to
// finish and never holds up the daemon's.
func (s *Server) Start(ctx context.Context, ln net.Listener) {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.o.Logger.Error().Err(err).Msg("local API stopped")
		}
	}()
}

func apiError(w http.ResponseWriter, code int, err error) {
	http.Error(w, err.Error(), code)
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
