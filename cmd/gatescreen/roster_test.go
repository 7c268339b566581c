package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// rosterGate writes a configuration whose roster is kept under dir.
func writeGB18030(t *testing.T, path, s string) {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue #21.5: a roster saved by Excel as GB18030 with three bad lines is
// refused with all three errors (line, column, value), and the roster in
// force is left exactly as it was; -dry-run counts what would change and
// changes nothing; the default merges by id, -replace replaces.
func TestRosterImportChecksEverythingFirst(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	cfg, kept := writeGate(t, dir, "{name: lane-1, role: student, device: gun-1}"), filepath.Join(dir, "roster.csv")
	run := func(args ...string) (string, int) {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"roster", "import", "-config", cfg}, args...)...).CombinedOutput()
		return string(out), exitCodeOf(t, err)
	}
	first := filepath.Join(dir, "first.csv")
	writeGB18030(t, first, "学号,姓名,班级,年级,角色,卡号\nS1,王小明,一(1)班,1,学生,04A1\nS2,李小红,一(1)班,1,学生,04A2\nT1,赵老师,,,教职工,04F1\n")
	if out, code := run(first); code != 0 || !strings.Contains(out, "(GB18030): 3 added, 0 removed, 0 changed, 0 unchanged; 3 people") {
		t.Fatalf("first import: exit %d:\n%s", code, out)
	}
	before, err := os.ReadFile(kept)
	if err != nil || !bytes.Contains(before, []byte("王小明")) {
		t.Fatalf("kept roster (UTF-8): %v %q", err, before)
	}

	bad := filepath.Join(dir, "bad.csv")
	writeGB18030(t, bad, "学号,姓名,班级,年级,角色,卡号\n"+
		"S3,张伟,二(3)班,2,学生,04B3\n"+
		"S4,,二(3)班,2,学生,04B4\n"+ // line 3: no name
		"S5,刘洋,二(3)班,2,家长,04B5\n"+ // line 4: not a role
		"S6,陈静,二(3)班,2,学生,04a1\n") // line 5: 王小明's card
	out, code := run(bad)
	for _, want := range []string{
		`bad.csv:3: column 2 姓名: "" is empty`,
		`bad.csv:4: column 5 角色: "家长" is not student or staff`,
		`bad.csv:5: card_uid: "04A1" is the card of S1 (王小明) already in the roster`,
		"3 error(s); the roster was not changed",
	} {
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("bad roster: exit %d, missing %q:\n%s", code, want, out)
		}
	}
	if after, _ := os.ReadFile(kept); !bytes.Equal(after, before) {
		t.Fatalf("a refused import changed the roster:\n%s", after)
	}

	next := filepath.Join(dir, "next.csv")
	os.WriteFile(next, []byte("学号,姓名,班级,年级,角色,卡号\nS2,李小红,一(2)班,1,学生,04A2\nS3,张伟,二(3)班,2,学生,04B3\n"), 0o600)
	if out, code := run("-dry-run", next); code != 0 || !strings.Contains(out, "1 added, 0 removed, 1 changed, 0 unchanged; 4 people") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("dry run: exit %d:\n%s", code, out)
	}
	if after, _ := os.ReadFile(kept); !bytes.Equal(after, before) {
		t.Fatal("a dry run changed the roster")
	}
	if out, code := run("-dry-run", "-replace", next); code != 0 || !strings.Contains(out, "1 added, 2 removed, 1 changed, 0 unchanged; 2 people") {
		t.Fatalf("dry run -replace: exit %d:\n%s", code, out)
	}
	if out, code := run(next); code != 0 || !strings.Contains(out, "4 people") {
		t.Fatalf("merge: exit %d:\n%s", code, out)
	}
	if after, _ := os.ReadFile(kept); !bytes.Contains(after, []byte("赵老师")) || !bytes.Contains(after, []byte("一(2)班")) {
		t.Fatalf("the merge lost or did not change people:\n%s", after)
	}
	if out, code := run("-replace", next); code != 0 || !strings.Contains(out, "2 people") {
		t.Fatalf("replace: exit %d:\n%s", code, out)
	}
	if after, _ := os.ReadFile(kept); bytes.Contains(after, []byte("赵老师")) {
		t.Fatalf("-replace kept a person not in the file:\n%s", after)
	}
}
