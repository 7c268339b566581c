package gymcu90614

import (
	"bytes"
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/internal/testkit/serialtest"
)

// naiveDecoder is the baseline: buffer everything, bytes.Index the header,
// slice the frame off.
type naiveDecoder struct{ buf []byte }

func (d *naiveDecoder) Feed(p []byte, emit drivers.Emit) {
	d.buf = append(d.buf, p...)
	for {
		i := bytes.Index(d.buf, header[:])
		if i < 0 {
			d.buf = d.buf[max(0, len(d.buf)-len(header)+1):]
			return
		}
		if len(d.buf)-i < FrameLen {
			d.buf = d.buf[i:]
			return
		}
		f := d.buf[i : i+FrameLen]
		if checksum(f[:8]) == f[8] {
			emit(drivers.NewTemperature(Celsius(f[4], f[5]), Celsius(f[6], f[7]), 0))
		} else {
			emit(drivers.Invalid(drivers.FlagChecksum, f))
		}
		d.buf = d.buf[i+FrameLen:]
	}
}

var sink drivers.Reading

func keep(r drivers.Reading) { sink = r }

func BenchmarkDecodeFrame(b *testing.B) {
	var d Decoder
	b.SetBytes(FrameLen)
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(datasheetFrame, keep)
	}
}

func BenchmarkDecodeFrameNaiveIndex(b *testing.B) {
	var d naiveDecoder
	b.SetBytes(FrameLen)
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(datasheetFrame, keep)
	}
}

// BenchmarkSerialThroughput shows the driver keeps up with continuous
// output at 115200 baud: frames/s through a pseudo-terminal and the multiple of
// the line rate.
func BenchmarkSerialThroughput(b *testing.B) {
	serialtest.Throughput(b, datasheetFrame, "frames", func(c drivers.Conn) (drivers.Source, error) {
		return New(c.Port, &Opts{Name: "bench"})
	})
}
