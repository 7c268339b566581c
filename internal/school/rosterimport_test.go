package school

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func gb18030(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Excel in China saves "CSV" as GB18030 (GBK): such a file is read, and its
// mistakes are all reported with line, column (as the file names it) and
// value (issue #21.5).
func TestParseRosterGB18030(t *testing.T) {
	ro, err := ParseRoster("r.csv", gb18030(t, "学号,姓名,班级,年级,角色\nS1,王小明,一(1)班,1,学生\nT1,赵老师,,,教职工\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := ro.ByID("S1"); p.Name != "王小明" || p.Class != "一(1)班" || ro.Encoding != "GB18030" {
		t.Fatalf("read %+v as %s", p, ro.Encoding)
	}
	_, err = ParseRoster("r.csv", gb18030(t, "学号,姓名,班级,年级,角色\n"+
		"S1,王小明,一(1)班,1,学生\n"+
		"S2,,一(1)班,1,学生\n"+ // line 3: no name
		"S3,李小红,一(1)班,1,家长\n"+ // line 4: no such role
		"S1,张伟,二(3)班,2,学生\n")) // line 5: S1 again
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`r.csv:3: column 2 姓名: "" is empty`, `r.csv:4: column 5 角色: "家长" is not student or staff`,
		`r.csv:5: column 1 学号: "S1" is also on line 2`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestMergeByIDOrReplace(t *testing.T) {
	cur, err := ParseRoster("old.csv", []byte("id,name,class,grade,role,card_uid\nS1,Ann,1A,1,student,AA\nS2,Bob,1A,1,student,BB\nS3,Cat,1B,1,student,CC\n"))
	if err != nil {
		t.Fatal(err)
	}
	next := []byte("id,name,class,grade,role,card_uid\nS2,Bob,1B,1,student,BB\nS3,Cat,1B,1,student,CC\nS4,Dan,1B,1,student,DD\n")
	merged, d, err := Import(cur, "new.csv", next, false)
	if err != nil {
		t.Fatal(err)
	}
	if d != (Diff{Added: 1, Changed: 1, Unchanged: 1}) || len(merged.People) != 4 {
		t.Fatalf("merge: %+v, %d people", d, len(merged.People))
	}
	if p, _ := merged.ByID("S2"); p.Class != "1B" {
		t.Errorf("S2 not changed: %+v", p)
	}
	if p, ok := merged.ByCard("AA"); !ok || p.ID != "S1" {
		t.Errorf("S1 lost by the merge: %+v", p)
	}
	replaced, d, err := Import(cur, "new.csv", next, true)
	if err != nil {
		t.Fatal(err)
	}
	if d != (Diff{Added: 1, Removed: 1, Changed: 1, Unchanged: 1}) || len(replaced.People) != 3 {
		t.Fatalf("replace: %+v, %d people", d, len(replaced.People))
	}
	if _, ok := replaced.ByID("S1"); ok {
		t.Error("S1 kept by -replace")
	}
	// The merged roster is written as the box keeps it and reads back.
	var buf bytes.Buffer
	if err := merged.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ParseRoster("kept.csv", buf.Bytes())
	if err != nil || len(back.People) != 4 || back.People[0] != merged.People[0] {
		t.Fatalf("read back %v: %+v", err, back)
	}
}

// A card already held by someone the merge keeps cannot be given to a new
// person: the import is refused at the new file's line, together with the
// file's own mistakes, in line order.
func TestImportRefusesACardHeldByAKeptPerson(t *testing.T) {
	cur, _ := ParseRoster("old.csv", []byte("id,name,card_uid\nS1,Ann,AA\n"))
	next := []byte("id,name,card_uid\nS2,Bob,BB\nS3,Cat,aa\nS4,,CC\n")
	_, _, err := Import(cur, "new.csv", next, false)
	want := `new.csv:3: card_uid: "AA" is the card of S1 (Ann) already in the roster, given here to S3` + "\n" +
		`new.csv:4: column 2 name: "" is empty`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v", err)
	}
	next = []byte("id,name,card_uid\nS2,Bob,BB\nS3,Cat,aa\n")
	if _, _, err := Import(cur, "new.csv", next, true); err != nil {
		t.Fatalf("-replace frees S1's card: %v", err)
	}
}
