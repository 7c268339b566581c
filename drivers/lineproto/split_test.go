package lineproto

import (
	"slices"
	"strings"
	"testing"
)

func split(s *Splitter, chunks ...string) []string {
	var out []string
	for _, c := range chunks {
		s.Feed([]byte(c), func(l []byte) { out = append(out, string(l)) })
	}
	return out
}

func TestSplitter(t *testing.T) {
	long := strings.Repeat("x", 17)
	for _, c := range []struct {
		name    string
		ends    string
		chunks  []string
		want    []string
		dropped uint64
	}{
		{"split across reads", "\n", []string{"T=3", "6.5\nT=", "37", ".0\n"}, []string{"T=36.5", "T=37.0"}, 0},
		{"crlf", "\n", []string{"a\r\nb\r", "\n\r\n"}, []string{"a", "b"}, 0},
		{"cr", "\r", []string{"a\rb\r"}, []string{"a", "b"}, 0},
		{"blanks trimmed", "\n", []string{"  a \t\n\n"}, []string{"a"}, 0},
		{"exactly max", "\n", []string{strings.Repeat("y", 16) + "\n"}, []string{strings.Repeat("y", 16)}, 0},
		{"long in one read", "\n", []string{long + "\nok\n"}, []string{"ok"}, 1},
		{"long across reads", "\n", []string{long[:10], long[10:], long, "\nok\n"}, []string{"ok"}, 1},
		{"long then unterminated", "\n", []string{long, long, "x"}, nil, 1},
		{"two long", "\n", []string{long + "\n" + long + "\nok\n"}, []string{"ok"}, 2},
		{"any of several ends", "\r\n\x03", []string{"a\x03b\r\nc"}, []string{"a", "b"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewSplitter(c.ends, 16)
			if got := split(s, c.chunks...); !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			if s.Dropped() != c.dropped {
				t.Fatalf("dropped %d, want %d", s.Dropped(), c.dropped)
			}
			if cap(s.buf) != 16 {
				t.Fatalf("buffer grew to %d", cap(s.buf))
			}
		})
	}
}

func TestSplitterDoesNotAllocate(t *testing.T) {
	s := NewSplitter("\n", 64)
	in := []byte("T=36.5 A=24.1\nTEMP:3")
	n := 0
	line := func([]byte) { n++ }
	if allocs := testing.AllocsPerRun(100, func() { s.Feed(in, line) }); allocs != 0 {
		t.Fatalf("%v allocations, want 0", allocs)
	}
	if n == 0 {
		t.Fatal("no lines")
	}
}
