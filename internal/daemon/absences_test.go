package daemon

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/clock"
)

// absenceGate is a report gate with a roster of three grade-1 students
// (window 07:00–07:40) on 2026-11-23 at 12:00, S1 measured.
func absenceGate(t *testing.T) *gate {
	t.Helper()
	g := reportGate(t)
	dir := t.TempDir()
	g.roster.path = filepath.Join(dir, "roster.csv")
	if err := os.WriteFile(g.roster.path, []byte("id,name,class,grade\nS1,王小明,一(1)班,1\nS2,李小红,一(1)班,1\nS3,张伟,一(2)班,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.roster.reload(); err != nil {
		t.Fatal(err)
	}
	g.cfg.School.Windows = []school.Window{{Grade: "1", From: "07:00", To: "07:40"}}
	var err error
	if g.sched, err = school.NewSchedule(SchoolCalendar(g.cfg.School), g.loc); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, g.loc)
	g.clk = clock.New(clock.Opts{Now: func() time.Time { return now }, SyncedFunc: func() bool { return true }, Logger: zerolog.Nop()})
	body := 36.5
	ev, _ := event.New(event.KindReading, event.Reading{Lane: "lane-1", Role: "student", BodyC: &body, Verdict: event.VerdictPass, PersonID: "S1"})
	ev.Wall = time.Date(2026, 11, 23, 7, 10, 0, 0, g.loc).UnixNano()
	if err := g.store.Append(ev); err != nil {
		t.Fatal(err)
	}
	if err := g.store.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return g
}

func record(g *gate, query string) (int, string) {
	rec := httptest.NewRecorder()
	g.apiAbsenceRecord(rec, httptest.NewRequest("POST", "/v1/absences?"+query, nil))
	return rec.Code, rec.Body.String()
}

// issue #21.4: a class teacher records why an absentee is absent; the
// daily report counts 因病缺勤 per grade and the reasons, as counts only;
// the follow-up list shows who is still open and since when.
func TestAbsenceFollowUp(t *testing.T) {
	g := absenceGate(t)
	for _, q := range []string{
		"id=S1&reason=illness",                       // measured at the gate
		"id=S9&reason=illness",                       // not in the roster
		"id=S2&reason=holiday",                       // no such reason
		"id=S2&reason=personal_leave&symptoms=fever", // symptoms are for illness
	} {
		if code, body := record(g, q); code != 400 {
			t.Errorf("%s: %d %s, want refused", q, code, body)
		}
	}
	if code, body := record(g, "id=S2&reason=illness&symptoms=fever,cough&seen_doctor=true&note=家长电话告知"); code != 200 || !strings.Contains(body, "S2 李小红") {
		t.Fatalf("record S2: %d %s", code, body)
	}
	rep, err := g.buildDaily(g.sched.DayOf(g.now()), g.now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Absentees != 2 || rep.AbsenceReasons["illness"] != 1 || rep.AbsenceReasons[school.Unrecorded] != 1 ||
		rep.IllByGrade["1"] != 1 || rep.IllSymptoms["fever"] != 1 || rep.IllSymptoms["seen_doctor"] != 1 {
		t.Fatalf("report %+v", rep)
	}
	b, _ := json.Marshal(rep)
	for _, personal := range []string{"S2", "李小红", "家长电话告知"} {
		if strings.Contains(string(b), personal) {
			t.Errorf("the daily report (uploaded) carries %q: %s", personal, b)
		}
	}

	// The next day S2 is still away: the list shows the absence open since
	// the 23rd with the last record, and S3 unrecorded.
	next := time.Date(2026, 11, 24, 12, 0, 0, 0, g.loc)
	g.clk = clock.New(clock.Opts{Now: func() time.Time { return next }, SyncedFunc: func() bool { return true }, Logger: zerolog.Nop()})
	rec := httptest.NewRecorder()
	g.apiAbsences(rec, httptest.NewRequest("GET", "/v1/absences", nil))
	var list []openAbsence
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if len(list) != 3 || list[0].PersonID != "S1" || list[1].PersonID != "S2" || list[1].Since != "2026-11-23" ||
		list[1].Last == nil || list[1].Last.Reason != "illness" || list[1].Today != nil || list[2].Since != "2026-11-24" {
		t.Fatalf("follow-up list %s", rec.Body)
	}
}

// The screen lists each absentee, to a logged-in session, with what was
// recorded or that nobody has yet.
func TestAbsentNameOnTheScreen(t *testing.T) {
	ill := storage.Absence{Reason: storage.AbsenceIllness, Symptoms: []string{storage.SymptomFever, storage.SymptomCough}}
	for _, tc := range []struct {
		a        storage.Absence
		recorded bool
		lang     string
		want     string
	}{
		{ill, true, "zh-CN", "李小红（因病·发热·咳嗽）"},
		{storage.Absence{Reason: storage.AbsenceLeave}, true, "zh-CN", "李小红（事假）"},
		{storage.Absence{}, false, "zh-CN", "李小红（未登记）"},
		{ill, true, "en", "李小红 (illness: fever, cough)"},
		{storage.Absence{}, false, "en", "李小红 (not recorded)"},
	} {
		if got := absentName("李小红", tc.a, tc.recorded, tc.lang); got != tc.want {
			t.Errorf("%+v %v %s: %q, want %q", tc.a, tc.recorded, tc.lang, got, tc.want)
		}
	}
}

// The gate screen's form (a teacher's session) records through the same
// checks as the companion command.
func TestRecordAbsenceFromTheScreen(t *testing.T) {
	g := absenceGate(t)
	if _, err := g.RecordAbsence(screen.AbsenceRecord{PersonID: "S1", Reason: "illness", By: "teacher"}); !errors.Is(err, screen.ErrBadAbsence) {
		t.Fatalf("a measured student: %v", err)
	}
	msg, err := g.RecordAbsence(screen.AbsenceRecord{PersonID: "S3", Reason: "illness", Symptoms: []string{"cough"}, By: "teacher"})
	if err != nil || !strings.Contains(msg, "S3 张伟") {
		t.Fatalf("record: %q %v", msg, err)
	}
	recs, err := g.store.Absences("2026-11-23")
	if err != nil || recs["S3"].By != "teacher" || recs["S3"].Symptoms[0] != "cough" || recs["S3"].At.IsZero() {
		t.Fatalf("stored %+v %v", recs, err)
	}
}
