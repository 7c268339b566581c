package sim

import (
	"bytes"
	"fmt"
	"math"
	"text/template"

	"github.com/gatescreen/gatescreen/drivers/mlx90614"
)

// AlarmC is the temperature at or above which a simulated gate sets the
// alarm field of its line, as real gates do with their own threshold.
const AlarmC = 37.3

// EncodeGYMCU returns the 9-byte GY-MCU90614 temperature frame
// 5A 5A 45 04 TOh TOl TAh TAl SUM: object and ambient °C×100 as big-endian
// signed 16-bit values, SUM the low byte of the sum of the first 8 bytes.
// Values beyond the int16 range are clamped.
func EncodeGYMCU(objectC, ambientC float64) [9]byte {
	to, ta := centi(objectC), centi(ambientC)
	f := [9]byte{0x5a, 0x5a, 0x45, 0x04, byte(to >> 8), byte(to), byte(ta >> 8), byte(ta)}
	var sum byte
	for _, b := range f[:8] {
		sum += b
	}
	f[8] = sum
	return f
}

func centi(c float64) int16 {
	v := math.Round(c * 100)
	return int16(max(math.MinInt16, min(math.MaxInt16, v)))
}

// GY-MCU90614 host commands: A5, cmd, (A5+cmd)&0xFF.
var (
	cmdContinuous = [3]byte{0xa5, 0x45, 0xea}
	cmdQuery      = [3]byte{0xa5, 0x15, 0xba}
)

// MLX90614 RAM addresses read with SMBus read word (datasheet §8.4.5).
const (
	MLXRegAmbient = 0x06
	MLXRegObject1 = 0x07
	MLXRegObject2 = 0x08
)

// MLXRaw converts °C to the MLX90614 RAM word: kelvin / 0.02, clamped to
// the 15 bits the sensor uses (bit 15 is its error flag).
func MLXRaw(c float64) uint16 {
	v := math.Round((c + 273.15) / 0.02)
	return uint16(max(0, min(0x7fff, v)))
}

// MLXResponse returns the three bytes an MLX90614 at the 7-bit address addr
// answers to a read word of cmd: LSB, MSB and the PEC over
// [addr<<1, cmd, addr<<1|1, LSB, MSB] (mlx90614.PEC, the SMBus standard).
func MLXResponse(addr uint16, cmd byte, word uint16) [3]byte {
	lsb, msb := byte(word), byte(word>>8)
	return [3]byte{lsb, msb, mlx90614.PEC(byte(addr<<1), cmd, byte(addr<<1)|1, lsb, msb)}
}

// DefaultLineFormat is the line of a walk-through gate: "T=36.5 A=24.1", with
// " ALARM" appended at or above AlarmC.
const DefaultLineFormat = `T={{printf "%.1f" .Temp}} A={{printf "%.1f" .Ambient}}{{if .Alarm}} ALARM{{end}}`

// DefaultLinePattern parses DefaultLineFormat; it is the lineproto pattern
// the gate's device configs carry unless the scenario gives its own.
const DefaultLinePattern = `^T=(?P<temp>-?\d+(?:\.\d+)?) A=(?P<ambient>-?\d+(?:\.\d+)?)(?P<alarm> ALARM)?$`

// LineData is what a line format template sees.
type LineData struct {
	// Temp and Ambient are in °C, TempF and AmbientF the same in °F.
	Temp, Ambient   float64
	TempF, AmbientF float64
	// Alarm is Temp ≥ AlarmC.
	Alarm bool
	// Count is the gate's person counter, from 1.
	Count int
}

// LineFormat renders one gate line per person.
type LineFormat struct {
	tmpl *template.Template
	end  string
}

// NewLineFormat parses a text/template over LineData; end is the line
// terminator appended to every line ("\r\n" when empty).
func NewLineFormat(format, end string) (*LineFormat, error) {
	t, err := template.New("line").Option("missingkey=error").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("line format %q: %w", format, err)
	}
	if end == "" {
		end = "\r\n"
	}
	lf := &LineFormat{tmpl: t, end: end}
	// Executing once catches references to fields LineData does not have.
	if _, err := lf.Line(36.5, 22, 1); err != nil {
		return nil, err
	}
	return lf, nil
}

// Line renders the line for one person, terminator included.
func (lf *LineFormat) Line(tempC, ambientC float64, count int) ([]byte, error) {
	var b bytes.Buffer
	d := LineData{
		Temp: tempC, Ambient: ambientC,
		TempF: tempC*9/5 + 32, AmbientF: ambientC*9/5 + 32,
		Alarm: tempC >= AlarmC, Count: count,
	}
	if err := lf.tmpl.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("line format: %w", err)
	}
	b.WriteString(lf.end)
	return b.Bytes(), nil
}
