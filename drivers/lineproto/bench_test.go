package lineproto

import (
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/internal/testkit/serialtest"
)

var (
	benchLine = []byte("T=36.5 A=24.1")
	sink      drivers.Reading
)

func benchParse(b *testing.B, fast bool) {
	p := mustParser(b, nil)
	p.fast = fast
	b.SetBytes(int64(len(benchLine)))
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = p.Parse(benchLine)
	}
}

// BenchmarkParseLineFast is the hand parser of DefaultPattern.
func BenchmarkParseLineFast(b *testing.B) { benchParse(b, true) }

// BenchmarkParseLineRegexp is the baseline: the same pattern through regexp.
func BenchmarkParseLineRegexp(b *testing.B) { benchParse(b, false) }

// BenchmarkSplitAndParse is the whole per-line cost of a Source: splitting
// the byte stream and parsing.
func BenchmarkSplitAndParse(b *testing.B) {
	p := mustParser(b, nil)
	s := NewSplitter("\n", DefaultMaxLine)
	in := []byte("T=36.5 A=24.1\r\n")
	onLine := func(l []byte) { sink, _ = p.Parse(l) }
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s.Feed(in, onLine)
	}
}

// BenchmarkSerialThroughput shows the driver keeps up with continuous
// output at 115200 baud: lines/s through a pseudo-terminal and the multiple of
// the line rate.
func BenchmarkSerialThroughput(b *testing.B) {
	serialtest.Throughput(b, []byte("T=36.5 A=24.1\r\n"), "lines", func(c drivers.Conn) (drivers.Source, error) {
		return New(c.Port, &Opts{Name: "bench"})
	})
}
