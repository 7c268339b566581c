package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONWithComponent(t *testing.T) {
	var buf bytes.Buffer
	root, err := New(&buf, FormatAuto, "info")
	if err != nil {
		t.Fatal(err)
	}
	l := Component(root, "storage")
	l.Info().Msg("opened")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON (a buffer is not a terminal): %q", buf.String())
	}
	if line["component"] != "storage" || line["message"] != "opened" || line["time"] == nil {
		t.Fatalf("line %v", line)
	}
}

func TestLevelFilters(t *testing.T) {
	var buf bytes.Buffer
	root, err := New(&buf, FormatJSON, "warn")
	if err != nil {
		t.Fatal(err)
	}
	root.Info().Msg("hidden")
	root.Warn().Msg("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Fatalf("output %q", buf.String())
	}
}

func TestConsoleFormat(t *testing.T) {
	var buf bytes.Buffer
	root, err := New(&buf, FormatConsole, "info")
	if err != nil {
		t.Fatal(err)
	}
	root.Info().Str("device", "lane1").Msg("up")
	if out := buf.String(); strings.HasPrefix(out, "{") || !strings.Contains(out, "device=lane1") {
		t.Fatalf("console output %q", out)
	}
}

func TestBadFlags(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", "info"); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Fatalf("bad format accepted: %v", err)
	}
	if _, err := New(&bytes.Buffer{}, FormatJSON, "loud"); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Fatalf("bad level accepted: %v", err)
	}
}
