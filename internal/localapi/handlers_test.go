package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/internal/schoolday"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/clock"
)

// fixture is a local API over a school office on a fresh store: the
// default configuration's school with lane-1 labelled 1号通道, a roster of
// three grade-1 students (window 07:00–07:40), and a clock that reads now.
type fixture struct {
	srv   *Server
	store *storage.Store
	loc   *time.Location
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := config.Default()
	cfg.Lanes = []config.Lane{{Name: "lane-1", Label: "1号通道"}}
	cfg.School.Windows = []school.Window{{Grade: "1", From: "07:00", To: "07:40"}}
	loc, err := time.LoadLocation(cfg.Site.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := school.NewSchedule(cfg.School.Calendar(), loc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(filepath.Join(t.TempDir(), "events.db"), storage.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	path := filepath.Join(t.TempDir(), "roster.csv")
	if err := os.WriteFile(path, []byte("id,name,class,grade\nS1,王小明,一(1)班,1\nS2,李小红,一(1)班,1\nS3,张伟,一(2)班,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	roster, err := schoolday.NewRoster(path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, loc: loc, now: time.Date(2026, 11, 23, 12, 0, 0, 0, loc)}
	clk := clock.New(clock.Opts{Now: func() time.Time { return f.now }, SyncedFunc: func() bool { return true }, Logger: zerolog.Nop()})
	office, err := schoolday.New(schoolday.Opts{Store: st, Schedule: sched, Roster: roster, LaneLabels: cfg.LaneLabels(),
		Clock: clk, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = NewServer(Opts{Office: office, Roster: roster, Store: st, Logger: zerolog.Nop()})
	return f
}

// measured stores a reading of person (none: unidentified) at 07:10 on
// 2026-11-23.
func (f *fixture) measured(t *testing.T, person string, bodyC float64, verdict string) {
	t.Helper()
	ev, err := event.New(event.KindReading, event.Reading{Lane: "lane-1", Role: "student", BodyC: &bodyC,
		Verdict: verdict, Round: "morning", Ticket: "R-001", PersonID: person})
	if err != nil {
		t.Fatal(err)
	}
	ev.Wall = time.Date(2026, 11, 23, 7, 10, 0, 0, f.loc).UnixNano()
	if err := f.store.Append(ev); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) do(method, target string) (int, string) {
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code, rec.Body.String()
}

// While the daemon runs, `gatescreen export` asks it: the local API writes
// the same registers as the offline export, in Chinese by default.
func TestLocalAPIExportsTheLedger(t *testing.T) {
	f := newFixture(t)
	f.measured(t, "", 37.8, event.VerdictFlag)
	for _, tc := range []struct{ query, want string }{
		{"from=2026-11-23&to=2026-11-23", "晨检,1号通道,学生,,,,37.80,是,体温异常,,送复检区 R-001"},
		{"from=2026-11-23&to=2026-11-23&format=jsonl", `"verdict":"flag"`},
	} {
		if code, body := f.do("GET", "/v1/export?"+tc.query); code != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q", tc.query, code, body)
		}
	}
	if code, body := f.do("GET", "/v1/export?from=2026-11-23&to=2026-11-23&table=all"); code != 400 {
		t.Errorf("table=all: %d %q", code, body)
	}
	// The workbook is made by the companion, never in the gate's process.
	if code, body := f.do("GET", "/v1/export?from=2026-11-23&to=2026-11-23&format=xlsx"); code != 400 {
		t.Errorf("format=xlsx: %d %q", code, body)
	}
}

// issue #21.4 over the socket: a class teacher records why an absentee is
// absent; the daily report counts the reasons, as counts only; the
// follow-up list shows who is still open and since when.
func TestAbsenceFollowUp(t *testing.T) {
	f := newFixture(t)
	f.measured(t, "S1", 36.5, event.VerdictPass)
	for _, q := range []string{
		"id=S1&reason=illness",                       // measured at the gate
		"id=S9&reason=illness",                       // not in the roster
		"id=S2&reason=holiday",                       // no such reason
		"id=S2&reason=personal_leave&symptoms=fever", // symptoms are for illness
		"id=S2&reason=illness&date=2026-13-01",       // no such day
	} {
		if code, body := f.do("POST", "/v1/absences?"+q); code != 400 {
			t.Errorf("%s: %d %s, want refused", q, code, body)
		}
	}
	if code, body := f.do("POST", "/v1/absences?id=S2&reason=illness&symptoms=fever,cough&seen_doctor=true&note=家长电话告知"); code != 200 || !strings.Contains(body, "S2 李小红") {
		t.Fatalf("record S2: %d %s", code, body)
	}
	// The report of today (by the daemon's clock) is tallied now.
	code, body := f.do("GET", "/v1/report")
	var rep event.Daily
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != 200 {
		t.Fatalf("report: %d %s", code, body)
	}
	if rep.Day != "2026-11-23" || rep.Absentees != 2 || rep.AbsenceReasons["illness"] != 1 || rep.IllSymptoms["fever"] != 1 {
		t.Fatalf("report %+v", rep)
	}
	for _, personal := range []string{"S2", "李小红", "家长电话告知"} {
		if strings.Contains(body, personal) {
			t.Errorf("the daily report (uploaded) carries %q: %s", personal, body)
		}
	}

	// The next day S2 is still away: the list shows the absence open since
	// the 23rd with the last record, and S3 unrecorded.
	f.now = time.Date(2026, 11, 24, 12, 0, 0, 0, f.loc)
	_, body = f.do("GET", "/v1/absences")
	var list []schoolday.Absentee
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(list) != 3 || list[1].PersonID != "S2" || list[1].Since != "2026-11-23" ||
		list[1].Last == nil || list[1].Last.Reason != "illness" || list[1].Today != nil || list[2].Since != "2026-11-24" {
		t.Fatalf("follow-up list %s", body)
	}
}

// The roster reload answers with the number of people the daemon knows.
func TestRosterReload(t *testing.T) {
	f := newFixture(t)
	if code, body := f.do("POST", "/v1/roster/reload"); code != 200 || !strings.Contains(body, "knows 3 people") {
		t.Fatalf("reload: %d %s", code, body)
	}
}

// An export that fails after its first bytes cuts the connection: the
// client reads a short body and an error, never a 200 whose body looks like
// a whole ledger with an error message appended. Before the first byte the
// failure is a plain error answer.
func TestExportFailureIsNeverAWholeBody(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first int // bytes written before the failure
	}{{"before any byte", 0}, {"midway", 8192}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				sw := &sentWriter{w: w}
				if tc.first > 0 {
					_, _ = sw.Write([]byte(strings.Repeat("x", tc.first)))
				}
				sw.fail(errors.New("store read failed"))
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if tc.first == 0 {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "store read failed") {
					t.Fatalf("status %d body %q, want 400 naming the error", resp.StatusCode, body)
				}
				return
			}
			if err == nil {
				t.Fatalf("read %d bytes and no error: a cut-off export looked whole", len(body))
			}
		})
	}
}
