package badge

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/internal/testkit/serialtest"
)

var (
	benchLine = []byte("\x0204a1b2c3d4\x03")
	sink      drivers.Reading
	uidRE     = regexp.MustCompile(`^[0-9A-F]{4,24}$`)
	unsep     = strings.NewReplacer(":", "", "-", "")
)

func BenchmarkNormalize(b *testing.B) {
	var uid [drivers.MaxFrame]byte
	b.ReportAllocs()
	for b.Loop() {
		n, _ := Normalize(benchLine, &uid)
		sink = drivers.Badge(uid[:n])
	}
}

// BenchmarkNormalizeStrings is the baseline: strings functions and a regexp.
func BenchmarkNormalizeStrings(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s := strings.ToUpper(strings.Trim(string(benchLine), "\x02\x03\r\n "))
		s = strings.TrimPrefix(unsep.Replace(s), "0X")
		if uidRE.MatchString(s) {
			sink = drivers.Badge([]byte(s))
		}
	}
}

// BenchmarkSerialThroughput shows the driver keeps up with continuous
// output at 115200 baud: lines/s through a pseudo-terminal and the multiple of
// the line rate.
func BenchmarkSerialThroughput(b *testing.B) {
	serialtest.Throughput(b, []byte("04A1B2C3D4\r\n"), "lines", func(c drivers.Conn) (drivers.Source, error) {
		return New(c.Port, &Opts{Name: "bench"})
	})
}
