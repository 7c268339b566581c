package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/demo"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/district/web"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// `gatescreen-district demo` starts, prints its URL and logins, and its
// screen lists the simulated schools once logged in.
func TestDemoServesTheSchools(t *testing.T) {
	out := &syncbuf.Buffer{}
	cmd := exec.Command(district.Path(t), "demo", "-listen", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() })
	urlLine := regexp.MustCompile(`district screen: (http://127\.0\.0\.1:\d+/)`)
	poll.Until(t, 60*time.Second, "the demo's URL", func() bool { return urlLine.MatchString(out.String()) })
	base := urlLine.FindStringSubmatch(out.String())[1]
	if !strings.Contains(out.String(), demo.BureauUser+" / "+demo.BureauPassword) {
		t.Errorf("no demo login printed:\n%s", out)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("login page:\n%s", page)
	}
	resp, err = c.PostForm(base+"login", url.Values{"csrf": {string(m[1])}, "name": {demo.BureauUser}, "password": {demo.BureauPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var schools []string
	poll.Until(t, 30*time.Second, "the five schools on the screen", func() bool {
		resp, err := c.Get(base + "api/v1/screen")
		if err != nil || resp.StatusCode != http.StatusOK {
			return false
		}
		defer resp.Body.Close()
		var sc struct {
			Schools []struct{ School string }
		}
		if json.NewDecoder(resp.Body).Decode(&sc) != nil {
			return false
		}
		schools = schools[:0]
		for _, s := range sc.Schools {
			schools = append(schools, s.School)
		}
		return strings.Join(schools, " ") == "hd01 hd02 hd03 hd04 hd05"
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("demo on SIGTERM: %v\n%s", err, out)
	}
}

// user add stores an account with a password read from stdin (a short one
// refused);
// a second account of the name is refused.
func TestUserAdd(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "district.db")
	add := func(password string) (string, error) {
		cmd := exec.Command(district.Path(t), "user", "add", "-db", dsn, "-name", "wang", "-role", "bureau")
		cmd.Stdin = strings.NewReader(password + "\n")
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if out, err := add("short"); err == nil || !strings.Contains(out, "at least 10") {
		t.Errorf("a short password: %v %s", err, out)
	}
	if out, err := add("a-long-enough-password"); err != nil || !strings.Contains(out, "user wang added, role bureau") {
		t.Fatalf("user add: %v %s", err, out)
	}
	if out, err := add("another-long-password"); err == nil || !strings.Contains(out, "user exists") {
		t.Errorf("the same name again: %v %s", err, out)
	}
	b, err := exec.Command(district.Path(t), "user", "add", "-db", dsn, "-name", "li", "-role", "admin").CombinedOutput()
	if code := exitCode(err); code != exitUsage || !strings.Contains(string(b), "want bureau or cdc") {
		t.Errorf("role admin: exit %d %s", code, b)
	}
}

// user passwd, list and remove through the real binary: the new password
// is read as add reads it and is the one stored; list shows name, role and
// created; remove deletes the account; an unknown name is an error (exit
// 1) naming it.
func TestUserPasswdListRemove(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "district.db")
	user := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(district.Path(t), append([]string{"user"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		b, err := cmd.CombinedOutput()
		return string(b), exitCode(err)
	}
	for _, u := range [][2]string{{"wang", "bureau"}, {"li", "cdc"}} {
		if out, code := user("a-long-enough-password\n", "add", "-db", dsn, "-name", u[0], "-role", u[1]); code != 0 {
			t.Fatalf("user add %s: exit %d %s", u[0], code, out)
		}
	}
	if out, code := user("short\n", "passwd", "-db", dsn, "wang"); code == 0 || !strings.Contains(out, "at least 10") {
		t.Errorf("passwd with a short password: exit %d %s", code, out)
	}
	if out, code := user("the-new-password-of-wang\n", "passwd", "-db", dsn, "wang"); code != 0 || !strings.Contains(out, "user wang: password changed") {
		t.Errorf("passwd wang: exit %d %s", code, out)
	}
	if out, code := user("the-new-password\n", "passwd", "nobody", "-db", dsn); code != exitError || !strings.Contains(out, `user "nobody": no such user`) {
		t.Errorf("passwd of an unknown user: exit %d %s", code, out)
	}
	st, err := store.Open(context.Background(), dsn, store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := st.UserByName(context.Background(), "wang")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{"the-new-password-of-wang": true, "a-long-enough-password": false} {
		if ok, err := web.CheckPassword(u.PasswordHash, pw); ok != want || err != nil {
			t.Errorf("wang's stored hash against %q: %v %v, want %v", pw, ok, err, want)
		}
	}

	out, code := user("", "list", "-db", dsn)
	list := regexp.MustCompile(`(?m)^NAME +ROLE +CREATED\nli +cdc +\d{4}-\d\d-\d\dT[\d:.]+Z\nwang +bureau +\d{4}-`)
	if code != 0 || !list.MatchString(out) {
		t.Errorf("user list: exit %d\n%s", code, out)
	}

	if out, code := user("", "remove", "-db", dsn, "li"); code != 0 || !strings.Contains(out, "user li removed") {
		t.Errorf("remove li: exit %d %s", code, out)
	}
	if out, code := user("", "remove", "-db", dsn, "li"); code != exitError || !strings.Contains(out, `user "li": no such user`) {
		t.Errorf("remove li again: exit %d %s", code, out)
	}
	if out, _ := user("", "list", "-db", dsn); strings.Contains(out, "li ") || !strings.Contains(out, "wang") {
		t.Errorf("list after removing li:\n%s", out)
	}
	if out, code := user("", "remove", "-db", dsn); code != exitUsage || !strings.Contains(out, "name is required") {
		t.Errorf("remove without a name: exit %d %s", code, out)
	}
	if out, code := user("", "rename", "-db", dsn); code != exitUsage || !strings.Contains(out, `unknown user command "rename"`) {
		t.Errorf("an unknown user command: exit %d %s", code, out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
