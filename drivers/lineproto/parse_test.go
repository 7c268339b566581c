package lineproto

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
)

func mustParser(t testing.TB, o *drivers.LineOpts) *Parser {
	t.Helper()
	p, err := NewParser(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultPattern(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		line            string
		object, ambient float64
		flags           drivers.Flags
		malformed       bool
	}{
		{line: "T=36.5", object: 36.5, ambient: nan, flags: drivers.FlagNoAmbient},
		{line: "T=36.5 A=24.1", object: 36.5, ambient: 24.1},
		{line: "TEMP:36.5C", object: 36.5, ambient: nan, flags: drivers.FlagNoAmbient},
		{line: "TEMP:37.25C A=-3C", object: 37.25, ambient: -3},
		{line: "T=98.6", object: 98.6, ambient: nan, flags: drivers.FlagNoAmbient | drivers.FlagOutOfRange},
		{line: "T=36.5 A=90", object: 36.5, ambient: 90, flags: drivers.FlagOutOfRange},
		{line: "hello", malformed: true},
		{line: "T=", malformed: true},
		{line: "T=1234", malformed: true},
		{line: "T=36.123", malformed: true},
		{line: "T=36.", malformed: true},
		{line: "T=36.5 A=", malformed: true},
		{line: "t=36.5", malformed: true},
		{line: "T=36.5 B=24.1", malformed: true},
	} {
		t.Run(c.line, func(t *testing.T) {
			for _, fast := range []bool{true, false} {
				p := mustParser(t, nil)
				p.fast = fast
				r, ok := p.Parse([]byte(c.line))
				if !ok {
					t.Fatal("line not reported")
				}
				if c.malformed {
					if r.Flags != drivers.FlagMalformed || !math.IsNaN(r.ObjectC) || string(r.FrameBytes()) != c.line {
						t.Fatalf("fast %v: got %+v, want malformed", fast, r)
					}
					continue
				}
				if r.Flags != c.flags || r.ObjectC != c.object || !sameFloat(r.AmbientC, c.ambient) {
					t.Fatalf("fast %v: got flags %b %v/%v, want %b %v/%v", fast, r.Flags, r.ObjectC, r.AmbientC, c.flags, c.object, c.ambient)
				}
				if r.Flags.Invalid() != (len(r.FrameBytes()) > 0) {
					t.Fatalf("fast %v: frame %q kept for flags %b", fast, r.FrameBytes(), r.Flags)
				}
			}
		})
	}
}

func TestCustomPatternFahrenheitAlarmCount(t *testing.T) {
	p := mustParser(t, &drivers.LineOpts{
		Pattern: `^#(?P<count>\d+) body (?P<temp>[\d.]+)F amb (?P<ambient>[\d.]+)F(?: (?P<alarm>\w+))?$`,
		Unit:    "F",
	})
	for _, c := range []struct {
		line    string
		emitted bool
		object  float64
		flags   drivers.Flags
	}{
		{"#1 body 98.6F amb 68F OK", true, 37, 0},
		{"#1 body 98.6F amb 68F OK", false, 0, 0}, // the gate repeats the same passage
		{"#2 body 100.4F amb 68F ALARM", true, 38, drivers.FlagAlarm},
		{"#3 body 97.7F amb 68F N", true, 36.5, 0},
		{"#4 body 97.7F amb 68F", true, 36.5, 0},
		{"#5 body 97.7F amb 68F 0", true, 36.5, 0},
	} {
		r, ok := p.Parse([]byte(c.line))
		if ok != c.emitted {
			t.Fatalf("%q: emitted %v, want %v", c.line, ok, c.emitted)
		}
		if !ok {
			continue
		}
		if r.Flags != c.flags || math.Abs(r.ObjectC-c.object) > 1e-9 || math.Abs(r.AmbientC-20) > 1e-9 {
			t.Fatalf("%q: got flags %b %v/%v, want %b %v/20", c.line, r.Flags, r.ObjectC, r.AmbientC, c.flags, c.object)
		}
	}
}

func TestFahrenheitToCelsius(t *testing.T) {
	for f, c := range map[float64]float64{32: 0, 212: 100, -40: -40, 98.6: 37} {
		if got := fahrenheitToCelsius(f); math.Abs(got-c) > 1e-9 {
			t.Errorf("%v °F = %v °C, want %v", f, got, c)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name  string
		line  *drivers.LineOpts
		field string
	}{
		{"default", nil, ""},
		{"unit only", &drivers.LineOpts{Unit: "f", LineEnd: "\r\n"}, ""},
		{"does not compile", &drivers.LineOpts{Pattern: `T=(?P<temp>[0-9.]+`}, "line.pattern"},
		{"no temp group", &drivers.LineOpts{Pattern: `T=([0-9.]+)`}, "line.pattern"},
		{"unit", &drivers.LineOpts{Unit: "K"}, "line.unit"},
		{"line end", &drivers.LineOpts{LineEnd: ";"}, "line.line_end"},
		{"max line", &drivers.LineOpts{MaxLine: -1}, "line.max_line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := Validate(drivers.Device{Line: c.line})
			if c.field == "" {
				if len(errs) != 0 {
					t.Fatalf("got %v, want valid", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != c.field {
				t.Fatalf("got %v, want one error on %s", errs, c.field)
			}
			_, err := New(nopPort{}, &Opts{Name: "gate1", Line: c.line})
			var fe drivers.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("New: got %v, want the field error", err)
			}
		})
	}
}

func TestParseDefaultDoesNotAllocate(t *testing.T) {
	p := mustParser(t, nil)
	lines := [][]byte{[]byte("T=36.5 A=24.1"), []byte("TEMP:36.5C"), []byte("garbage")}
	allocs := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			p.Parse(l)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations, want 0", allocs)
	}
}

var defaultRE = regexp.MustCompile(DefaultPattern)

// FuzzDecodeLine: no panic; the hand parser accepts exactly the lines
// DefaultPattern matches, with the same values; any temperature comes from a
// line the pattern matches.
func FuzzDecodeLine(f *testing.F) {
	for _, s := range []string{"T=36.5 A=24.1\n", "TEMP:36.5C\r\nT=1234\n", "T=-0.5C A=-40\rT=36.\n", "\x00T=36.5\xff\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := mustParser(t, nil)
		slow := mustParser(t, nil)
		slow.fast = false
		NewSplitter("\n\r", 64).Feed(in, func(line []byte) {
			temp, ambient, ok := parseDefault(line)
			m := defaultRE.FindSubmatch(line)
			if ok != (m != nil) {
				t.Fatalf("%q: hand parser %v, regexp %v", line, ok, m != nil)
			}
			if ok {
				want := mustFloat(t, m[1])
				wantAmb := math.NaN()
				if len(m[2]) > 0 {
					wantAmb = mustFloat(t, m[2])
				}
				if temp != want || !sameFloat(ambient, wantAmb) {
					t.Fatalf("%q: hand %v/%v, regexp %v/%v", line, temp, ambient, want, wantAmb)
				}
			}
			r, _ := p.Parse(line)
			rs, _ := slow.Parse(line)
			if r.Flags != rs.Flags || !sameFloat(r.ObjectC, rs.ObjectC) || !sameFloat(r.AmbientC, rs.AmbientC) || !bytes.Equal(r.FrameBytes(), rs.FrameBytes()) {
				t.Fatalf("%q: fast path %+v, regexp path %+v", line, r, rs)
			}
			if !math.IsNaN(r.ObjectC) && m == nil {
				t.Fatalf("%q: temperature %v from a line the pattern does not match", line, r.ObjectC)
			}
			if r.Flags.Invalid() && !bytes.HasPrefix(line, r.FrameBytes()) {
				t.Fatalf("%q: frame %q is not the line", line, r.FrameBytes())
			}
		})
	})
}

func mustFloat(t *testing.T, b []byte) float64 {
	v, err := parseFloat(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
