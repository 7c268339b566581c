package web

import (
	"context"
	"net/http"
	"testing"
)

// An account removed, or given a new password, by `gatescreen-district
// user` (another process) is logged out at its next request; the others
// stay.
func TestChangedAccountLoggedOut(t *testing.T) {
	f := newFixture(t)
	bureau, cdc := f.start(t), f.start(t)
	for _, l := range []struct {
		c              *client
		name, password string
	}{{bureau, bureauName, bureauPassword}, {cdc, cdcName, cdcPassword}} {
		if code, _ := l.c.login(l.name, l.password); code != http.StatusSeeOther {
			t.Fatalf("login %s: %d", l.name, code)
		}
	}
	screen := func(c *client) int {
		resp, _ := c.do("GET", "/api/v1/screen", nil, nil)
		return resp.StatusCode
	}
	if a, b := screen(bureau), screen(cdc); a != http.StatusOK || b != http.StatusOK {
		t.Fatalf("screens logged in: %d, %d", a, b)
	}
	ctx := context.Background()
	if err := f.st.RemoveUser(ctx, cdcName); err != nil {
		t.Fatal(err)
	}
	if code := screen(cdc); code != http.StatusUnauthorized {
		t.Errorf("screen of a removed account: %d, want 401", code)
	}
	if code := screen(bureau); code != http.StatusOK {
		t.Errorf("screen of another account after the removal: %d, want 200", code)
	}
	h, err := hashPassword("a new password", testMemory)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetPassword(ctx, bureauName, h); err != nil {
		t.Fatal(err)
	}
	if code := screen(bureau); code != http.StatusUnauthorized {
		t.Errorf("screen after a new password: %d, want 401", code)
	}
	if code, _ := bureau.login(bureauName, "a new password"); code != http.StatusSeeOther {
		t.Errorf("login with the new password: %d", code)
	}
	if code := screen(bureau); code != http.StatusOK {
		t.Errorf("screen logged in again: %d", code)
	}
}
