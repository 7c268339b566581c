package mlx90614

import (
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

var (
	sinkWord uint16
	sinkOK   bool
)

// BenchmarkDecode compares the driver's decoder (cached prefix CRC, table
// lookups for the two data bytes) with the baseline a first version would
// write: a bitwise CRC-8 over all five bytes on every read.
func BenchmarkDecode(b *testing.B) {
	frame := [3]byte{0xD2, 0x3A, 0x30}
	b.Run("table+prefix", func(b *testing.B) {
		prefix := pecPrefix(0x5A, ramTobj1)
		b.ReportAllocs()
		for b.Loop() {
			sinkWord, sinkOK = decodeWord(prefix, frame)
		}
	})
	b.Run("baseline-bitwise", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkOK = crc8Bitwise(0xB4, ramTobj1, 0xB5, frame[0], frame[1]) == frame[2]
			sinkWord = uint16(frame[0]) | uint16(frame[1])<<8
		}
	})
}

// BenchmarkSense is one full reading (two SMBus read words, PEC checks,
// conversion) through periph's i2ctest.Playback, rewound every iteration.
func BenchmarkSense(b *testing.B) {
	p := &i2ctest.Playback{Ops: []i2ctest.IO{
		readOp(ramTobj1, raw37_3, false),
		readOp(ramTa, raw25, false),
	}}
	d := newDev(b, p)
	b.ReportAllocs()
	for b.Loop() {
		p.Count = 0
		r, err := d.Sense()
		if err != nil || r.Flags != 0 {
			b.Fatalf("Sense: %v flags %b", err, r.Flags)
		}
	}
}
