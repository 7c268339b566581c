package schoolday

import (
	"encoding/json"
	"errors"
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

// absenceOffice is a report office with a roster of three grade-1 students
// (window 07:00–07:40) on 2026-11-23 at 12:00, S1 measured.
func absenceOffice(t *testing.T) *testOffice {
	t.Helper()
	g := reportOffice(t)
	dir := t.TempDir()
	g.o.Roster.path = filepath.Join(dir, "roster.csv")
	if err := os.WriteFile(g.o.Roster.path, []byte("id,name,class,grade\nS1,王小明,一(1)班,1\nS2,李小红,一(1)班,1\nS3,张伟,一(2)班,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.o.Roster.Reload(); err != nil {
		t.Fatal(err)
	}
	g.cfg.School.Windows = []school.Window{{Grade: "1", From: "07:00", To: "07:40"}}
	var err error
	if g.o.Schedule, err = school.NewSchedule(g.cfg.School.Calendar(), g.loc); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, g.loc)
	g.o.Clock = clock.New(clock.Opts{Now: func() time.Time { return now }, SyncedFunc: func() bool { return true }, Logger: zerolog.Nop()})
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

func record(g *testOffice, a storage.Absence) (string, error) {
	if a.By == "" {
		a.By = "teacher"
	}
	day := g.Today()
	a.Day = day.Date
	return g.Record(day, a)
}

// issue #21.4: a class teacher records why an absentee is absent; the
// daily report counts 因病缺勤 per grade and the reasons, as counts only;
// the follow-up list shows who is still open and since when.
func TestAbsenceFollowUp(t *testing.T) {
	g := absenceOffice(t)
	for _, a := range []storage.Absence{
		{PersonID: "S1", Reason: "illness"},                                     // measured at the gate
		{PersonID: "S9", Reason: "illness"},                                     // not in the roster
		{PersonID: "S2", Reason: "holiday"},                                     // no such reason
		{PersonID: "S2", Reason: "personal_leave", Symptoms: []string{"fever"}}, // symptoms are for illness
	} {
		if msg, err := record(g, a); !errors.Is(err, screen.ErrBadAbsence) {
			t.Errorf("%+v: %q %v, want refused", a, msg, err)
		}
	}
	msg, err := record(g, storage.Absence{PersonID: "S2", Reason: "illness", Symptoms: []string{"fever", "cough"}, SeenDoctor: true, Note: "家长电话告知"})
	if err != nil || !strings.Contains(msg, "S2 李小红") {
		t.Fatalf("record S2: %q %v", msg, err)
	}
	rep, err := g.buildDaily(g.o.Schedule.DayOf(g.now()), g.now())
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
	g.o.Clock = clock.New(clock.Opts{Now: func() time.Time { return next }, SyncedFunc: func() bool { return true }, Logger: zerolog.Nop()})
	list, err := g.Absentees(g.Today())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].PersonID != "S1" || list[1].PersonID != "S2" || list[1].Since != "2026-11-23" ||
		list[1].Last == nil || list[1].Last.Reason != "illness" || list[1].Today != nil || list[2].Since != "2026-11-24" {
		t.Fatalf("follow-up list %+v", list)
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
	g := absenceOffice(t)
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

// A student back at the gate leaves the follow-up list that day, and an
// absence after the return is a new one: its "since" starts again, and the
// earlier illness is not carried over as its last record.
func TestAbsenceClosesWhenTheStudentIsBack(t *testing.T) {
	g := absenceOffice(t)
	if _, err := record(g, storage.Absence{PersonID: "S2", Reason: "illness", Symptoms: []string{"fever"}}); err != nil {
		t.Fatal(err)
	}
	at := func(day int) {
		now := time.Date(2026, 11, day, 12, 0, 0, 0, g.loc)
		g.o.Clock = clock.New(clock.Opts{Now: func() time.Time { return now }, SyncedFunc: func() bool { return true }, Logger: zerolog.Nop()})
	}
	measure := func(id string, day int) {
		body := 36.6
		ev, _ := event.New(event.KindReading, event.Reading{Lane: "lane-1", Role: "student", BodyC: &body, Verdict: event.VerdictPass, PersonID: id})
		ev.Wall = time.Date(2026, 11, day, 7, 10, 0, 0, g.loc).UnixNano()
		if err := g.store.Append(ev); err != nil {
			t.Fatal(err)
		}
		if err := g.store.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() map[string]*Absentee {
		list, err := g.Absentees(g.Today())
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*Absentee{}
		for i := range list {
			m[list[i].PersonID] = &list[i]
		}
		return m
	}

	at(24) // S2 is back; S1 and S3 are away
	measure("S2", 24)
	if got := ids(); got["S2"] != nil || got["S1"] == nil || got["S3"] == nil {
		t.Fatalf("24th, S2 measured: follow-up list %v, want S1 and S3 only", keys(got))
	}

	at(25) // S2 away again, everyone else measured
	measure("S1", 25)
	measure("S3", 25)
	got := ids()
	if len(got) != 1 || got["S2"] == nil {
		t.Fatalf("25th: follow-up list %v, want S2 only", keys(got))
	}
	if s2 := got["S2"]; s2.Since != "2026-11-25" || s2.Last != nil {
		t.Errorf("25th, S2 away again after a day back: since %q, last %+v; want since the 25th and no record carried over", s2.Since, s2.Last)
	}
}

func keys(m map[string]*Absentee) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
