package screen

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const teacherPIN = "1357"

type fakeAbsences struct{ got []AbsenceRecord }

func (f *fakeAbsences) RecordAbsence(a AbsenceRecord) (string, error) {
	if a.Reason == "holiday" {
		return "", fmt.Errorf("reason %q: %w", a.Reason, ErrBadAbsence)
	}
	f.got = append(f.got, a)
	return "recorded " + a.PersonID, nil
}

// issue #21.4: a class teacher logs in with the teachers' PIN, sees the
// absentees' names and records why one is absent; the doctor's desk stays
// the doctor's (no case record, no re-check, no visitor book).
func TestTeacherRecordsAbsencesButNotTheDesk(t *testing.T) {
	book := &fakeAbsences{}
	f := newFixture(t, func(o *Opts) { o.TeacherPIN = []byte(teacherPIN + "\n"); o.Absences = book })
	f.s.SetAbsentees(Absentees{Day: "2026-11-23", Classes: []AbsentClass{{Grade: "1", Class: "一(1)班", Names: []string{"李小红"}, IDs: []string{"S2"}}}})
	c := f.desk.flag("A", 38.0, f.clock.now())

	ck, csrf := f.loginWith(t, teacherPIN)
	if r := f.do(t, "GET", "/api/session", "", ck, ""); !strings.Contains(r.body, `"role":"teacher"`) {
		t.Fatalf("session %d %s", r.code, r.body)
	}
	if r := f.do(t, "GET", "/api/absentees", "", ck, ""); r.code != 200 || !strings.Contains(r.body, "李小红") || !strings.Contains(r.body, `"ids":["S2"]`) {
		t.Fatalf("absentees: %d %s", r.code, r.body)
	}
	r := f.do(t, "POST", "/api/absences", `{"id":"S2","reason":"illness","symptoms":["fever"],"seen_doctor":true,"note":"家长电话"}`, ck, csrf)
	if r.code != 200 || len(book.got) != 1 || book.got[0].By != "teacher" || book.got[0].Symptoms[0] != "fever" || !book.got[0].SeenDoctor {
		t.Fatalf("record: %d %s %+v", r.code, r.body, book.got)
	}
	if r := f.do(t, "POST", "/api/absences", `{"id":"S2","reason":"holiday"}`, ck, csrf); r.code != http.StatusBadRequest {
		t.Errorf("bad reason: %d %s", r.code, r.body)
	}
	if r := f.do(t, "POST", "/api/absences", `{"id":"S2","reason":"illness"}`, ck, "forged"); r.code != http.StatusForbidden {
		t.Errorf("forged CSRF: %d", r.code)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/cases/" + c.Ticket + "/recheck", `{"temp_c":36.9}`},
		{"POST", "/api/cases/" + c.Ticket + "/select", ``},
		{"GET", "/api/visitors", ``},
	} {
		if r := f.do(t, tc.method, tc.path, tc.body, ck, csrf); r.code != http.StatusForbidden {
			t.Errorf("teacher %s %s: %d %s, want 403", tc.method, tc.path, r.code, r.body)
		}
	}
	if r := f.do(t, "GET", "/api/cases/"+c.Ticket, "", ck, ""); strings.Contains(r.body, c.PersonID) && c.PersonID != "" {
		t.Errorf("a teacher sees the case record: %s", r.body)
	}
	if r := f.do(t, "POST", "/api/logout", "", ck, csrf); r.code != 200 {
		t.Errorf("teacher logout: %d", r.code)
	}

	// The doctor records absences too, and keeps the desk.
	ck, csrf = f.login(t)
	if r := f.do(t, "POST", "/api/absences", `{"id":"S2","reason":"personal_leave"}`, ck, csrf); r.code != 200 || book.got[1].By != "doctor" {
		t.Errorf("doctor record: %d %s %+v", r.code, r.body, book.got)
	}
	if r := f.do(t, "POST", "/api/cases/"+c.Ticket+"/recheck", `{"temp_c":36.9}`, ck, csrf); r.code != 200 {
		t.Errorf("doctor re-check: %d %s", r.code, r.body)
	}
}

// Without a teachers' PIN that PIN is just wrong; without an absence book
// nobody records.
func TestTeacherLoginOnlyWhenConfigured(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.do(t, "POST", "/api/login", `{"pin":"`+teacherPIN+`"}`, nil, ""); r.code != http.StatusUnauthorized {
		t.Fatalf("teacher PIN unconfigured: %d", r.code)
	}
	ck, csrf := f.login(t)
	if r := f.do(t, "POST", "/api/absences", `{"id":"S2","reason":"illness"}`, ck, csrf); r.code != http.StatusForbidden {
		t.Fatalf("no absence book: %d", r.code)
	}

}

// What a class teacher sees (issue #21.4): after logging in with the
// teachers' PIN, the absentees with a form each and none of the doctor's
// desk; recording one reaches the absence book.
func TestBrowserTeacherRecordsAnAbsence(t *testing.T) {
	bin := findChromium(t)
	book := &fakeAbsences{}
	f := newFixture(t, func(o *Opts) { o.TeacherPIN, o.Absences, o.IdleAfter = []byte(teacherPIN), book, time.Hour })
	f.s.now = time.Now
	f.desk.flag("A", 38.1, time.Now())
	f.s.SetAbsentees(Absentees{Day: "2026-11-23", Classes: []AbsentClass{
		{Grade: "初一", Class: "初一(2)班", Names: []string{"赵六（未登记）", "钱七（未登记）"}, IDs: []string{"S6", "S7"}}}})
	url := f.serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	page := dialCDP(t, startChromium(t, ctx, bin))
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1024, "height": 600, "deviceScaleFactor": 1, "mobile": false}, nil)
	page.call("Page.navigate", map[string]any{"url": url + "/"}, nil)
	page.waitFor("page rendered", `document.querySelectorAll("#lanes .lane").length > 0`, 20*time.Second)
	page.eval(`document.getElementById("pin").value = "` + teacherPIN + `"; document.getElementById("login-form").requestSubmit(); true`)
	page.waitFor("teacher logged in with a form per absentee", `!document.getElementById("doctor-panel").hidden &&
		document.body.dataset.role === "teacher" && document.querySelectorAll("#absent-names form.absent-person").length === 2`, 10*time.Second)
	for _, id := range []string{"recheck-form", "close-form", "selected"} {
		if visible := page.evalString(`String(document.getElementById("` + id + `").offsetParent !== null)`); visible != "false" {
			t.Errorf("a teacher sees the doctor's #%s", id)
		}
	}
	if n := page.evalString(`String(document.querySelectorAll("#cases button.select").length)`); n != "0" {
		t.Errorf("a teacher can select cases: %s buttons", n)
	}
	page.eval(`(function(){
		document.getElementById("absent-box").open = true;
		var f = document.querySelectorAll("#absent-names form.absent-person")[1];
		f.querySelector("select").value = "illness";
		f.querySelectorAll("input[type=checkbox]")[0].checked = true;
		f.querySelector("input[type=text]").value = "家长电话告知";
		f.requestSubmit();
		return true;
	})()`)
	page.waitFor("absence recorded", `document.getElementById("doctor-msg").textContent.includes("钱七（未登记）: 已登记缺勤原因")`, 10*time.Second)
	if len(book.got) != 1 || book.got[0].PersonID != "S7" || book.got[0].Reason != "illness" || book.got[0].Symptoms[0] != "fever" ||
		book.got[0].Note != "家长电话告知" || book.got[0].By != "teacher" {
		t.Fatalf("book %+v", book.got)
	}
	page.screenshot("screen-zh-CN-teacher-absences-1024x600.png")
}
