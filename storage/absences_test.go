package storage

import (
	"errors"
	"testing"
	"time"
)

func TestAbsencesPutReplaceAndPurge(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{})
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, a := range []Absence{
		{Day: "2026-11-22", PersonID: "S1", Reason: AbsenceUnknown, By: "teacher", At: at},
		{Day: "2026-11-23", PersonID: "S1", Reason: AbsenceUnknown, By: "teacher", At: at},
		{Day: "2026-11-23", PersonID: "S1", Reason: AbsenceIllness, Symptoms: []string{SymptomFever}, By: "teacher", At: at}, // replaces
		{Day: "2026-11-23", PersonID: "S2", Reason: AbsenceLeave, By: "doctor", At: at},
	} {
		if err := s.PutAbsence(a); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []Absence{
		{Day: "23/11/2026", PersonID: "S1", Reason: AbsenceIllness},
		{Day: "2026-11-23", Reason: AbsenceIllness},
		{Day: "2026-11-23", PersonID: "S1", Reason: "holiday"},
		{Day: "2026-11-23", PersonID: "S1", Reason: AbsenceLeave, SeenDoctor: true},
		{Day: "2026-11-23", PersonID: "S1", Reason: AbsenceIllness, Symptoms: []string{"headache"}},
	} {
		if err := s.PutAbsence(bad); err == nil {
			t.Errorf("stored %+v", bad)
		}
	}
	day, err := s.Absences("2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	if len(day) != 2 || day["S1"].Reason != AbsenceIllness || day["S1"].Symptoms[0] != SymptomFever || day["S2"].By != "doctor" {
		t.Fatalf("absences %+v", day)
	}
	if _, err := s.PurgeAbsences("1970-01-02"); !errors.Is(err, errImplausibleCutoff) {
		t.Fatalf("purge with an unset clock: %v", err)
	}
	if n, err := s.PurgeAbsences("2026-11-23"); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if old, _ := s.Absences("2026-11-22"); len(old) != 0 {
		t.Fatalf("kept %+v", old)
	}
	if day, _ := s.Absences("2026-11-23"); len(day) != 2 {
		t.Fatalf("purged too much: %+v", day)
	}
}
