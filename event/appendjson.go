package event

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends r as JSON to dst, byte for byte what json.Marshal(r)
// writes, without reflection: the pipeline encodes every reading on its
// way to the store, and by reflection that was a fifth of the daemon's CPU
// (docs/bench/cpu.md). A NaN or infinite number is refused as json.Marshal
// refuses it. TestReadingAppendJSONMatchesMarshal holds the two together;
// a field added to Reading must be added here too (the test fails until
// it is).
func (r *Reading) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"lane":`...)
	dst = appendString(dst, r.Lane)
	dst = append(dst, `,"role":`...)
	dst = appendString(dst, r.Role)
	dst = append(dst, `,"device":`...)
	dst = appendString(dst, r.Device)
	var err error
	dst = append(dst, `,"raw_c":`...)
	if dst, err = appendOptFloat(dst, r.RawC); err != nil {
		return dst, err
	}
	dst = append(dst, `,"ambient_c":`...)
	if dst, err = appendOptFloat(dst, r.AmbientC); err != nil {
		return dst, err
	}
	dst = append(dst, `,"body_c":`...)
	if dst, err = appendOptFloat(dst, r.BodyC); err != nil {
		return dst, err
	}
	dst = append(dst, `,"verdict":`...)
	dst = appendString(dst, r.Verdict)
	dst = appendOptString(dst, `,"reason":`, r.Reason)
	if len(r.Warnings) > 0 {
		dst = append(dst, `,"warnings":[`...)
		for i, w := range r.Warnings {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, w)
		}
		dst = append(dst, ']')
	}
	dst = appendOptString(dst, `,"mode":`, r.Mode)
	if r.OffsetC != 0 {
		dst = append(dst, `,"offset_c":`...)
		if dst, err = appendFloat(dst, r.OffsetC); err != nil {
			return dst, err
		}
	}
	if r.Gain != 0 {
		dst = append(dst, `,"gain":`...)
		if dst, err = appendFloat(dst, r.Gain); err != nil {
			return dst, err
		}
	}
	if r.CalibrationID != 0 {
		dst = append(dst, `,"calibration_id":`...)
		dst = strconv.AppendUint(dst, r.CalibrationID, 10)
	}
	dst = append(dst, `,"threshold_c":`...)
	if dst, err = appendFloat(dst, r.ThresholdC); err != nil {
		return dst, err
	}
	dst = appendOptString(dst, `,"person_id":`, r.PersonID)
	dst = appendOptString(dst, `,"round":`, r.Round)
	if r.Late {
		dst = append(dst, `,"late":true`...)
	}
	dst = appendOptString(dst, `,"ticket":`, r.Ticket)
	dst = appendOptString(dst, `,"frame_hex":`, r.FrameHex)
	return append(dst, '}'), nil
}

// NewReading is New(KindReading, r) without reflection (see AppendJSON).
func NewReading(r *Reading) (Event, error) {
	var scratch [320]byte // a typical reading is about 200 bytes: no growth
	b, err := r.AppendJSON(scratch[:0])
	if err != nil {
		return Event{}, fmt.Errorf("event: marshal %s payload: %w", KindReading, err)
	}
	// One allocation of the exact size: the body outlives the call (the
	// store keeps it until its commit).
	return Event{Kind: KindReading, Body: append(json.RawMessage(nil), b...)}, nil
}

// appendOptString writes an omitempty string field: nothing when empty.
func appendOptString(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return appendString(append(dst, key...), v)
}

func appendOptFloat(dst []byte, f *float64) ([]byte, error) {
	if f == nil {
		return append(dst, "null"...), nil
	}
	return appendFloat(dst, *f)
}

// appendFloat writes f as encoding/json does: like ES6's number to string,
// 'f' format except for very small and very large magnitudes, and an
// exponent without a leading zero (1e-7, not 1e-07).
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s quoted as encoding/json does by default: HTML
// characters (<, >, &) as \u escapes, U+2028 and U+2029 escaped, and each
// byte of invalid UTF-8 as \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
