package gymcu90614

import (
	"bytes"

	"github.com/gatescreen/gatescreen/drivers"
)

// FrameLen is the length of one module-to-host frame.
const FrameLen = 9

// header opens every temperature frame: two sync bytes, type 0x45
// (temperature) and data length 4.
var header = [4]byte{0x5A, 0x5A, 0x45, 0x04}

// Host-to-module commands.
var (
	// CmdContinuous switches the module to continuous output.
	CmdContinuous = []byte{0xA5, 0x45, 0xEA}
	// CmdQuery asks for one frame.
	CmdQuery = []byte{0xA5, 0x15, 0xBA}
)

// The MLX90614's measurement ranges (datasheet §8.1 "Maximum ratings" and
// §8.7 "Temperature ranges"): a frame outside them cannot be a measurement.
const (
	minObjectC  = -70
	maxObjectC  = 380
	minAmbientC = -40
	maxAmbientC = 125
)

// Celsius converts one temperature field of a frame to °C. The GY-MCU90614
// manual gives each field as the temperature ×100, most significant byte
// first (worked example: 0x0C78 = 3192 → 31.92 °C). The field is read as
// two's complement so that sub-zero ambient and object temperatures, which
// the MLX90614 measures down to −70 °C, come out negative; the largest
// positive value is therefore 327.67 °C.
func Celsius(msb, lsb byte) float64 {
	return float64(int16(uint16(msb)<<8|uint16(lsb))) / 100
}

// checksum is the module's sum-8: the low byte of the sum of the bytes.
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// Decoder turns a byte stream from the module into readings. It keeps at
// most one partial frame, so a frame split across reads is joined, and it
// never allocates. The zero value is ready to use.
type Decoder struct {
	buf [FrameLen]byte
	n   int
	// skipped counts bytes dropped while looking for a header.
	skipped uint64
}

// Skipped returns how many bytes were dropped as garbage so far.
func (d *Decoder) Skipped() uint64 { return d.skipped }

// Feed decodes p and calls emit once per complete frame: a temperature
// reading when the checksum matches, drivers.Invalid(FlagChecksum, frame)
// when it does not.
func (d *Decoder) Feed(p []byte, emit drivers.Emit) {
	for len(p) > 0 {
		if d.n > 0 {
			d.push(p[0], emit)
			p = p[1:]
			continue
		}
		// Between frames: skip to a header byte, and decode a whole frame
		// straight from p when it is all there (the common case).
		i := bytes.IndexByte(p, header[0])
		if i < 0 {
			d.skipped += uint64(len(p))
			return
		}
		d.skipped += uint64(i)
		p = p[i:]
		if len(p) < FrameLen || [4]byte(p[:4]) != header {
			d.push(p[0], emit)
			p = p[1:]
			continue
		}
		f := (*[FrameLen]byte)(p[:FrameLen])
		if checksum(f[:FrameLen-1]) == f[FrameLen-1] {
			emit(decodeFrame(f))
			p = p[FrameLen:]
			continue
		}
		emit(drivers.Invalid(drivers.FlagChecksum, f[:]))
		// As in push: look for a real frame right behind the false header.
		p = p[1:]
	}
}

func (d *Decoder) push(b byte, emit drivers.Emit) {
	d.buf[d.n] = b
	d.n++
	if d.n <= len(header) {
		d.trimToHeader()
		return
	}
	if d.n < FrameLen {
		return
	}
	frame := d.buf
	d.n = 0
	if checksum(frame[:FrameLen-1]) == frame[FrameLen-1] {
		emit(decodeFrame(&frame))
		return
	}
	emit(drivers.Invalid(drivers.FlagChecksum, frame[:]))
	// The header may have been garbage that looked like one; a real frame
	// can start inside the 8 bytes behind it. They are fewer than a frame,
	// so this cannot emit again.
	for _, c := range frame[1:] {
		d.push(c, emit)
	}
}

// trimToHeader drops leading bytes until buf[:n] is a prefix of the header.
func (d *Decoder) trimToHeader() {
	for d.n > 0 && !isHeaderPrefix(d.buf[:d.n]) {
		copy(d.buf[:], d.buf[1:d.n])
		d.n--
		d.skipped++
	}
}

func isHeaderPrefix(b []byte) bool {
	for i, c := range b {
		if header[i] != c {
			return false
		}
	}
	return true
}

// decodeFrame converts a frame whose checksum matched.
func decodeFrame(f *[FrameLen]byte) drivers.Reading {
	object := Celsius(f[4], f[5])
	ambient := Celsius(f[6], f[7])
	if object < minObjectC || object > maxObjectC || ambient < minAmbientC || ambient > maxAmbientC {
		r := drivers.NewTemperature(object, ambient, drivers.FlagOutOfRange)
		r.SetFrame(f[:])
		return r
	}
	return drivers.NewTemperature(object, ambient, 0)
}
