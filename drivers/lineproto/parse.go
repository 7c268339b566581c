package lineproto

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatescreen/gatescreen/drivers"
)

// DefaultPattern matches the output of common gates and guns: "T=" or
// "TEMP:", the temperature with up to three integer and two decimal digits
// and an optional C, then optionally " A=" and the ambient temperature the
// same way. Examples: "T=36.5", "T=36.5 A=24.1", "TEMP:36.5C",
// "TEMP:37.2C A=18C". Lines are trimmed of surrounding blanks first.
const DefaultPattern = `^(?:T=|TEMP:)(?P<temp>-?[0-9]{1,3}(?:\.[0-9]{1,2})?)C?(?: A=(?P<ambient>-?[0-9]{1,3}(?:\.[0-9]{1,2})?)C?)?$`

// Plausible ranges of what a screening gate or gun reports, in °C. They are
// wide for real devices but catch a gate printing Fahrenheit on a device
// configured for Celsius: 98.6 would otherwise read as a 98.6 °C fever.
const (
	minObjectC  = -20
	maxObjectC  = 60
	minAmbientC = -40
	maxAmbientC = 85
)

// Parser turns one line into a reading.
type Parser struct {
	re *regexp.Regexp
	// Submatch indexes of the named groups; -1 when absent.
	temp, ambient, alarm, count int
	fahrenheit                  bool
	// fast selects parseDefault, the allocation-free equivalent of
	// DefaultPattern.
	fast bool
	// lastCount is the gate's counter on the previous matching line.
	lastCount []byte
	countBuf  [32]byte
}

// NewParser compiles o (nil means DefaultPattern in °C).
func NewParser(o *drivers.LineOpts) (*Parser, error) {
	pattern, unit := DefaultPattern, "C"
	if o != nil {
		if o.Pattern != "" {
			pattern = o.Pattern
		}
		if o.Unit != "" {
			unit = strings.ToUpper(o.Unit)
		}
	}
	if unit != "C" && unit != "F" {
		return nil, drivers.FieldError{Field: "line.unit", Value: unit, Msg: `must be "C" or "F"`}
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, drivers.FieldError{Field: "line.pattern", Value: pattern, Msg: "does not compile: " + err.Error()}
	}
	p := &Parser{
		re:         re,
		temp:       re.SubexpIndex("temp"),
		ambient:    re.SubexpIndex("ambient"),
		alarm:      re.SubexpIndex("alarm"),
		count:      re.SubexpIndex("count"),
		fahrenheit: unit == "F",
		fast:       pattern == DefaultPattern,
	}
	if p.temp < 0 {
		return nil, drivers.FieldError{Field: "line.pattern", Value: pattern, Msg: "lacks the named group temp"}
	}
	return p, nil
}

// Parse returns the reading for one line, without its terminator. A line
// repeating the gate's counter (group count) of the line before is the same
// passage reported again: Parse returns ok false and it is not emitted.
func (p *Parser) Parse(line []byte) (r drivers.Reading, ok bool) {
	if p.fast {
		temp, ambient, matched := parseDefault(line)
		if !matched {
			return drivers.Invalid(drivers.FlagMalformed, line), true
		}
		return p.reading(temp, ambient, false, line), true
	}
	m := p.re.FindSubmatchIndex(line)
	if m == nil {
		return drivers.Invalid(drivers.FlagMalformed, line), true
	}
	temp, err := parseFloat(group(line, m, p.temp))
	if err != nil {
		return drivers.Invalid(drivers.FlagMalformed, line), true
	}
	ambient := math.NaN()
	if a := group(line, m, p.ambient); len(a) > 0 {
		if ambient, err = parseFloat(a); err != nil {
			return drivers.Invalid(drivers.FlagMalformed, line), true
		}
	}
	if c := group(line, m, p.count); len(c) > 0 {
		if bytes.Equal(c, p.lastCount) {
			return drivers.Reading{}, false
		}
		p.lastCount = append(p.countBuf[:0], c...)
	}
	return p.reading(temp, ambient, alarmRaised(group(line, m, p.alarm)), line), true
}

// reading converts to °C and checks the plausible ranges; an implausible
// reading keeps its line for diagnosis.
func (p *Parser) reading(temp, ambient float64, alarm bool, line []byte) drivers.Reading {
	if p.fahrenheit {
		temp, ambient = fahrenheitToCelsius(temp), fahrenheitToCelsius(ambient)
	}
	var flags drivers.Flags
	if alarm {
		flags |= drivers.FlagAlarm
	}
	if math.IsNaN(ambient) {
		flags |= drivers.FlagNoAmbient
	} else if ambient < minAmbientC || ambient > maxAmbientC {
		flags |= drivers.FlagOutOfRange
	}
	if !(temp >= minObjectC && temp <= maxObjectC) {
		flags |= drivers.FlagOutOfRange
	}
	r := drivers.NewTemperature(temp, ambient, flags)
	if flags.Invalid() {
		r.SetFrame(line)
	}
	return r
}

// fahrenheitToCelsius is the one place °F becomes °C.
func fahrenheitToCelsius(f float64) float64 { return (f - 32) * 5 / 9 }

// alarmRaised reads the alarm group: anything but empty, "0", "N" and "OK"
// (any case) is the device's own over-temperature alarm.
func alarmRaised(a []byte) bool {
	return len(a) > 0 && !bytes.Equal(a, []byte("0")) && !bytes.EqualFold(a, []byte("N")) && !bytes.EqualFold(a, []byte("OK"))
}

func group(line []byte, m []int, i int) []byte {
	if i < 0 || m[2*i] < 0 {
		return nil
	}
	return line[m[2*i]:m[2*i+1]]
}

// parseFloat parses a decimal number; NaN and infinities are not numbers a
// thermometer prints.
func parseFloat(b []byte) (float64, error) {
	v, err := strconv.ParseFloat(string(b), 64)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		err = fmt.Errorf("%q is not a temperature", b)
	}
	return v, err
}

// parseDefault is DefaultPattern written out by hand: same language, same
// values (FuzzDecodeLine checks both), no allocation. ambient is NaN when
// the line has none.
func parseDefault(line []byte) (temp, ambient float64, ok bool) {
	ambient = math.NaN()
	rest, found := bytes.CutPrefix(line, []byte("T="))
	if !found {
		if rest, found = bytes.CutPrefix(line, []byte("TEMP:")); !found {
			return 0, 0, false
		}
	}
	if temp, rest, ok = fixedPoint(rest); !ok {
		return 0, 0, false
	}
	rest, _ = bytes.CutPrefix(rest, []byte("C"))
	if len(rest) == 0 {
		return temp, ambient, true
	}
	if rest, found = bytes.CutPrefix(rest, []byte(" A=")); !found {
		return 0, 0, false
	}
	if ambient, rest, ok = fixedPoint(rest); !ok {
		return 0, 0, false
	}
	rest, _ = bytes.CutPrefix(rest, []byte("C"))
	return temp, ambient, len(rest) == 0
}

// fixedPoint reads -?[0-9]{1,3}(\.[0-9]{1,2})? from the start of b. The
// value is an integer of at most five digits divided by a power of ten, both
// exact in float64, so the division rounds exactly as strconv.ParseFloat.
func fixedPoint(b []byte) (v float64, rest []byte, ok bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	mant, i := 0, 0
	for ; i < len(b) && i < 3 && isDigit(b[i]); i++ {
		mant = mant*10 + int(b[i]-'0')
	}
	if i == 0 {
		return 0, nil, false
	}
	scale := 1.0
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for ; j < len(b) && j-i <= 2 && isDigit(b[j]); j++ {
			mant = mant*10 + int(b[j]-'0')
			scale *= 10
		}
		if j == i+1 {
			return 0, nil, false
		}
		i = j
	}
	if i < len(b) && isDigit(b[i]) {
		return 0, nil, false
	}
	v = float64(mant) / scale
	if neg {
		v = -v
	}
	return v, b[i:], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
