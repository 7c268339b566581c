package school

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRosterWithBOMAndChineseHeaders(t *testing.T) {
	data := "\xef\xbb\xbf学号,姓名,班级,年级,角色,卡号\n" +
		"S001,张三,一(1)班,1,学生,04a1b2c3\n" +
		"T001,李老师,,,教职工,04:FF:00:11\n"
	ro, err := ParseRoster("roster.csv", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ro.People) != 2 {
		t.Fatalf("%d people", len(ro.People))
	}
	p, ok := ro.ByCard("04A1B2C3")
	if !ok || p.Name != "张三" || p.Role != "student" || p.Class != "一(1)班" {
		t.Fatalf("by card: %+v %v", p, ok)
	}
	if p, ok := ro.ByCard("04ff0011"); !ok || p.ID != "T001" || p.Role != "staff" {
		t.Fatalf("staff by card: %+v %v", p, ok)
	}
	if g := ro.Grades(); len(g) != 1 || g[0] != "1" {
		t.Fatalf("grades %v", g)
	}
}

func TestParseRosterErrorsNameTheirLines(t *testing.T) {
	data := "id,name,class,grade,role,card_uid\n" +
		"S001,Ann,1A,1,student,AA01\n" +
		",Bob,1A,1,student,AA02\n" + // line 3: empty id
		"S003,,1A,1,student,AA03\n" + // line 4: empty name
		"S001,Cat,1A,1,student,AA04\n" + // line 5: duplicate id
		"S005,Dan,1A,1,pupil,AA05\n" + // line 6: bad role
		"S006,Eve,1A,1,student,aa01\n" // line 7: card of S001
	_, err := ParseRoster("roster.csv", []byte(data))
	if err == nil {
		t.Fatal("bad roster accepted")
	}
	for _, want := range []string{
		`roster.csv:3: column 1 id: "" is empty`,
		`roster.csv:4: column 2 name: "" is empty`,
		`roster.csv:5: column 1 id: "S001" is also on line 2`,
		`roster.csv:6: column 5 role: "pupil" is not student or staff`,
		`roster.csv:7: column 6 card_uid: "AA01" is also used by S001`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	var le *LineError
	if !errors.As(err, &le) {
		t.Fatal("errors are not LineErrors")
	}
}

func TestParseRosterNeedsHeader(t *testing.T) {
	_, err := ParseRoster("r.csv", []byte("S001,Ann\n"))
	if err == nil || !strings.Contains(err.Error(), `r.csv:1: header has no "id" column`) {
		t.Fatalf("got %v", err)
	}
}

func TestParseRosterBadQuoteNamesItsLine(t *testing.T) {
	_, err := ParseRoster("r.csv", []byte("id,name\nS1,Ann\nS2,\"Bob\n"))
	if err == nil || !strings.Contains(err.Error(), "r.csv:3: ") {
		t.Fatalf("got %v", err)
	}
}
