package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// TimeLayout is the one time format on the wire: RFC 3339 in UTC with
// milliseconds, as the envelope's captured_at.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is an instant in a payload, held as Unix nanoseconds (the box's own
// arithmetic and comparisons stay integer) and written as TimeLayout. It
// reads both that and the Unix-nanosecond number that stores written before
// it hold. The zero value is "not set".
type Time int64

// TimeOf returns t as a Time.
func TimeOf(t time.Time) Time { return Time(t.UnixNano()) }

// Time returns the instant.
func (t Time) Time() time.Time { return time.Unix(0, int64(t)) }

// MarshalJSON writes TimeLayout in UTC.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.Time().UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads an RFC 3339 string, or a number of Unix nanoseconds
// (bodies stored before the wire format was settled).
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("event: time %q: %w", s, err)
		}
		*t = TimeOf(v)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("event: time %s: not RFC 3339 nor Unix nanoseconds", b)
	}
	*t = Time(n)
	return nil
}
