package event

import (
	"encoding/json"
	"testing"
	"time"
)

// A Time is written as RFC 3339 UTC with milliseconds and read back from
// that or from the Unix nanoseconds of stores written before.
func TestTimeJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 15, 12, 5, 123456789, time.FixedZone("CST", 8*3600))
	b, err := json.Marshal(struct {
		At Time `json:"at"`
	}{TimeOf(at)})
	if err != nil || string(b) != `{"at":"2026-11-23T07:12:05.123Z"}` {
		t.Fatalf("marshal: %s %v", b, err)
	}
	for _, in := range []string{`"2026-11-23T07:12:05.123456789Z"`, `1795417925123456789`, `"2026-11-23T15:12:05.123456789+08:00"`} {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Time().Equal(at) {
			t.Errorf("unmarshal %s: %v %v, want %v", in, got.Time(), err, at)
		}
	}
	for _, bad := range []string{`"yesterday"`, `1.5e9`, `true`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("unmarshal %s: no error", bad)
		}
	}
}
