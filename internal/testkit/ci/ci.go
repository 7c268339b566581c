package ci

import (
	"fmt"
	"os"
	"testing"
)

// Running reports whether the tests run in CI (CI=true, as .ci/run sets it).
func Running() bool { return os.Getenv("CI") == "true" }

// Missing ends the test for a missing dependency: a failure in CI, a skip
// elsewhere. msg says what is missing and how to install it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Running() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
