package gymcu90614

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
)

// datasheetFrame is the worked example of the GY-MCU90614 manual.
var datasheetFrame = []byte{0x5A, 0x5A, 0x45, 0x04, 0x0C, 0x78, 0x0D, 0x19, 0xA7}

// frame builds a valid frame for object and ambient in hundredths of °C.
func frame(object, ambient int16) []byte {
	f := []byte{0x5A, 0x5A, 0x45, 0x04, byte(uint16(object) >> 8), byte(object), byte(uint16(ambient) >> 8), byte(ambient), 0}
	f[8] = checksum(f[:8])
	return f
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func decodeAll(chunks ...[]byte) []drivers.Reading {
	var d Decoder
	var out []drivers.Reading
	for _, c := range chunks {
		d.Feed(c, func(r drivers.Reading) { out = append(out, r) })
	}
	return out
}

func wantTemp(t *testing.T, r drivers.Reading, object, ambient float64) {
	t.Helper()
	if r.Kind != drivers.KindTemperature || r.Flags != 0 || r.ObjectC != object || r.AmbientC != ambient {
		t.Fatalf("got kind %d flags %b object %v ambient %v, want valid %v/%v", r.Kind, r.Flags, r.ObjectC, r.AmbientC, object, ambient)
	}
}

func TestDatasheetExample(t *testing.T) {
	got := decodeAll(datasheetFrame)
	if len(got) != 1 {
		t.Fatalf("got %d readings, want 1", len(got))
	}
	wantTemp(t, got[0], 31.92, 33.53)
}

func TestCelsiusIsSignedHundredths(t *testing.T) {
	for _, c := range []struct {
		msb, lsb byte
		want     float64
	}{
		{0x0C, 0x78, 31.92},
		{0x00, 0x00, 0},
		{0xFC, 0x18, -10}, // -1000
		{0x7F, 0xFF, 327.67},
	} {
		if got := Celsius(c.msb, c.lsb); got != c.want {
			t.Errorf("Celsius(%02X %02X) = %v, want %v", c.msb, c.lsb, got, c.want)
		}
	}
}

func TestDecoderSplitAtEveryByte(t *testing.T) {
	stream := cat(frame(3650, 2410), datasheetFrame, frame(3712, 2200))
	for cut := 0; cut <= len(stream); cut++ {
		got := decodeAll(stream[:cut], stream[cut:])
		if len(got) != 3 {
			t.Fatalf("cut %d: got %d readings, want 3", cut, len(got))
		}
		wantTemp(t, got[0], 36.5, 24.1)
		wantTemp(t, got[1], 31.92, 33.53)
		wantTemp(t, got[2], 37.12, 22)
	}
	// One byte per read, as a slow UART delivers them.
	var chunks [][]byte
	for i := range stream {
		chunks = append(chunks, stream[i:i+1])
	}
	if got := decodeAll(chunks...); len(got) != 3 {
		t.Fatalf("byte by byte: got %d readings, want 3", len(got))
	}
}

func TestDecoderSkipsGarbage(t *testing.T) {
	garbage := []byte{0x00, 0x5A, 0x11, 0x5A, 0x5A, 0x5A, 0x45, 0x5A, 0xFF, 0xA5}
	var d Decoder
	var got []drivers.Reading
	d.Feed(cat(garbage, datasheetFrame, garbage[:3], frame(3650, 2410), []byte{0x5A, 0x5A}), func(r drivers.Reading) { got = append(got, r) })
	if len(got) != 2 {
		t.Fatalf("got %d readings, want 2: %+v", len(got), got)
	}
	wantTemp(t, got[0], 31.92, 33.53)
	wantTemp(t, got[1], 36.5, 24.1)
	if d.Skipped() != uint64(len(garbage)+3) {
		t.Errorf("skipped %d bytes, want %d", d.Skipped(), len(garbage)+3)
	}
}

func TestDecoderBadChecksumIsInvalid(t *testing.T) {
	bad := bytes.Clone(datasheetFrame)
	bad[8] ^= 0x01
	got := decodeAll(bad, frame(3650, 2410))
	if len(got) != 2 {
		t.Fatalf("got %d readings, want 2", len(got))
	}
	r := got[0]
	if r.Flags != drivers.FlagChecksum || !math.IsNaN(r.ObjectC) || !math.IsNaN(r.AmbientC) {
		t.Fatalf("bad checksum gave flags %b object %v ambient %v", r.Flags, r.ObjectC, r.AmbientC)
	}
	if !bytes.Equal(r.FrameBytes(), bad) {
		t.Fatalf("frame % X, want % X", r.FrameBytes(), bad)
	}
	wantTemp(t, got[1], 36.5, 24.1)
}

// A header in garbage swallows the start of a real frame; the decoder finds
// the real frame inside the 9 bytes it rejected.
func TestDecoderResyncsInsideFalseFrame(t *testing.T) {
	stream := cat([]byte{0x5A, 0x5A, 0x45, 0x04, 0x01}, datasheetFrame)
	got := decodeAll(stream)
	if len(got) != 2 {
		t.Fatalf("got %d readings, want 2", len(got))
	}
	if got[0].Flags != drivers.FlagChecksum {
		t.Fatalf("false frame: flags %b, want checksum", got[0].Flags)
	}
	wantTemp(t, got[1], 31.92, 33.53)
}

func TestDecoderOutOfRange(t *testing.T) {
	for _, c := range []struct {
		name            string
		object, ambient int16
		want            drivers.Flags
	}{
		{"body", 3650, 2410, 0},
		{"object floor", -7000, 2000, 0},
		{"object below floor", -7001, 2000, drivers.FlagOutOfRange},
		{"ambient ceiling", 3650, 12500, 0},
		{"ambient too hot", 3650, 12501, drivers.FlagOutOfRange},
		{"ambient too cold", 3650, -4001, drivers.FlagOutOfRange},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := decodeAll(frame(c.object, c.ambient))
			if len(got) != 1 || got[0].Flags != c.want {
				t.Fatalf("got %+v, want flags %b", got, c.want)
			}
			if c.want != 0 && !bytes.Equal(got[0].FrameBytes(), frame(c.object, c.ambient)) {
				t.Fatalf("out-of-range reading keeps frame % X", got[0].FrameBytes())
			}
		})
	}
}

func TestDecoderDoesNotAllocate(t *testing.T) {
	stream := cat([]byte{0x00, 0x5A}, datasheetFrame, frame(3650, 2410))
	var d Decoder
	n := 0
	emit := func(drivers.Reading) { n++ }
	allocs := testing.AllocsPerRun(100, func() { d.Feed(stream, emit) })
	if allocs != 0 {
		t.Fatalf("%v allocations per Feed, want 0", allocs)
	}
	if n == 0 {
		t.Fatal("no readings")
	}
}

// FuzzDecode: no panic; splitting the input anywhere changes nothing; every
// temperature comes from a checksum-valid frame present in the input.
func FuzzDecode(f *testing.F) {
	f.Add(datasheetFrame, 4)
	f.Add(cat([]byte{0x5A, 0x5A, 0x45, 0x04, 0x01}, datasheetFrame), 3)
	f.Add(cat(frame(-7000, 12500), []byte{0xFF, 0x5A}, frame(3650, 2410)), 10)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		whole := decodeAll(in)
		cut = int(uint(cut) % uint(len(in)+1))
		split := decodeAll(in[:cut], in[cut:])
		if len(whole) != len(split) {
			t.Fatalf("whole %d readings, split at %d: %d", len(whole), cut, len(split))
		}
		for i, r := range whole {
			s := split[i]
			if r.Flags != s.Flags || !bytes.Equal(r.FrameBytes(), s.FrameBytes()) ||
				!sameFloat(r.ObjectC, s.ObjectC) || !sameFloat(r.AmbientC, s.AmbientC) {
				t.Fatalf("reading %d differs when split at %d: %+v vs %+v", i, cut, r, s)
			}
			if math.IsNaN(r.ObjectC) {
				if r.Flags != drivers.FlagChecksum {
					t.Fatalf("reading without temperature has flags %b", r.Flags)
				}
				continue
			}
			// Rebuild the frame from the values: it must be in the input.
			want := frame(int16(math.Round(r.ObjectC*100)), int16(math.Round(r.AmbientC*100)))
			if !bytes.Contains(in, want) {
				t.Fatalf("temperature %v/%v not from a valid frame in % s", r.ObjectC, r.AmbientC, hex.EncodeToString(in))
			}
		}
	})
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// "TW" firmware appends a tenth byte to every frame, after the sum (the sum
// still covers the first eight bytes, as a public Android parser of the
// module checks it). Whatever that byte is, a header byte included, every
// frame still decodes and none is lost.
func TestTenByteTWFramesDecode(t *testing.T) {
	for _, extra := range []byte{0x00, 0x5A, 0xA5, 0x45} {
		var stream []byte
		const n = 50
		for i := range n {
			stream = append(stream, frame(int16(3600+i), 2410)...)
			stream = append(stream, extra)
		}
		var bytewise [][]byte
		for i := range stream {
			bytewise = append(bytewise, stream[i:i+1])
		}
		for _, got := range [][]drivers.Reading{decodeAll(stream), decodeAll(bytewise...)} {
			if len(got) != n {
				t.Fatalf("extra byte %02X: %d readings from %d ten-byte frames", extra, len(got), n)
			}
			for i, r := range got {
				wantTemp(t, r, float64(3600+i)/100, 24.10)
			}
		}
	}
}
