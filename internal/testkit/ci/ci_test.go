package ci

import (
	"testing"
)

// recorder notes how Missing ended the test instead of ending it.
type recorder struct {
	testing.TB
	ended string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.ended = "fatal"; panic(r) }
func (r *recorder) Skip(args ...any)  { r.ended = "skip"; panic(r) }

func missing(t *testing.T) string {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != r {
				panic(p)
			}
		}()
		Missing(r, "%s not installed", "tool")
	}()
	return r.ended
}

func TestMissingFailsInCIAndSkipsElsewhere(t *testing.T) {
	t.Setenv("CI", "true")
	if got := missing(t); got != "fatal" {
		t.Fatalf("CI=true: %s, want fatal", got)
	}
	t.Setenv("CI", "")
	if got := missing(t); got != "skip" {
		t.Fatalf("outside CI: %s, want skip", got)
	}
}
