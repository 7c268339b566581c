package event

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

var appendJSONSeed = flag.Uint64("appendjson.seed", 17, "seed of TestReadingAppendJSONMatchesMarshal")

// edgeFloats are where a formatter goes wrong: the 'f'/'e' cut-offs of
// encoding/json, negative zero, the ends of the range, shortest-repr
// round-trips and the hundredths the pipeline writes.
var edgeFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 0.2, 0.1 + 0.2, 37.3, 37.29999999999999, 36.6, 0.19999999999999996,
	1e-6, math.Nextafter(1e-6, 0), math.Nextafter(1e-6, 1), -1e-6, 1e-7, 1.5e-9, 1e-10, 1e-100,
	1e21, math.Nextafter(1e21, 0), math.Nextafter(1e21, math.Inf(1)), -1e21, 1e20, 123456789012345680000,
	1e100, 1e300, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 2.2250738585072014e-308,
	100, 1000000, 1 << 53, 1<<53 + 1, 9007199254740993, 0.000001234, 5e-7, 4.9999999999999996e-7,
}

func genFloat(rng *rand.Rand) float64 {
	switch rng.IntN(4) {
	case 0:
		return edgeFloats[rng.IntN(len(edgeFloats))]
	case 1: // what the pipeline stores: hundredths of a degree
		return float64(rng.IntN(20001)-10000) / 100
	case 2: // any magnitude
		return (rng.Float64()*2 - 1) * math.Pow(10, float64(rng.IntN(60)-30))
	default: // any bit pattern that is a number
		for {
			if f := math.Float64frombits(rng.Uint64()); !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f
			}
		}
	}
}

// stringPieces need escaping, are multi-byte, or are not UTF-8 at all.
var stringPieces = []string{
	"a", "lane-1", "R-003", " ", `"`, `\`, "/", "<", ">", "&", "<script>", "\x00", "\x01", "\x08", "\x0c",
	"\n", "\r", "\t", "\x1f", "\x7f", "é", "中", "通道", "1号通道", "\u2028", "\u2029", "\u2027", "\u202a",
	"😀", "\xff", "\xc3", "\xe4\xb8", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\ufffd", "ambient_low",
}

func genString(rng *rand.Rand) string {
	if rng.IntN(3) == 0 {
		return ""
	}
	var b []byte
	for range rng.IntN(6) + 1 {
		b = append(b, stringPieces[rng.IntN(len(stringPieces))]...)
	}
	return string(b)
}

func genReading(rng *rand.Rand) Reading {
	opt := func() *float64 {
		if rng.IntN(4) == 0 {
			return nil
		}
		f := genFloat(rng)
		return &f
	}
	maybe := func(f float64) float64 { // omitempty: often exactly zero
		if rng.IntN(3) == 0 {
			return 0
		}
		return f
	}
	r := Reading{
		Lane: genString(rng), Role: genString(rng), Device: genString(rng),
		RawC: opt(), AmbientC: opt(), BodyC: opt(),
		Verdict: genString(rng), Reason: genString(rng),
		Mode: genString(rng), OffsetC: maybe(genFloat(rng)), Gain: maybe(genFloat(rng)),
		ThresholdC: maybe(genFloat(rng)),
		PersonID:   genString(rng), Round: genString(rng), Late: rng.IntN(2) == 0,
		Ticket: genString(rng), FrameHex: genString(rng),
	}
	if rng.IntN(3) > 0 {
		r.CalibrationID = rng.Uint64() >> rng.IntN(64)
	}
	switch rng.IntN(3) {
	case 0: // nil
	case 1:
		r.Warnings = []string{} // empty, not nil: omitted all the same
	default:
		for range rng.IntN(3) + 1 {
			r.Warnings = append(r.Warnings, genString(rng))
		}
	}
	return r
}

// TestReadingAppendJSONMatchesMarshal compares AppendJSON with
// json.Marshal over 100,000 generated readings; any difference on the wire
// or on the card is a contract break.
func TestReadingAppendJSONMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(*appendJSONSeed, 0))
	buf := []byte("prefix")
	for i := range 100_000 {
		r := genReading(rng)
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(buf[:6])
		if err != nil {
			t.Fatalf("reading %d (seed %d): %v", i, *appendJSONSeed, err)
		}
		if string(got[:6]) != "prefix" || !bytes.Equal(got[6:], want) {
			t.Fatalf("reading %d (seed %d) %#v:\n got %s\nwant %s", i, *appendJSONSeed, r, got, want)
		}
		buf = got[:0]
	}
}

// Every field set to something non-zero: a field added to Reading without
// being added to AppendJSON fails here, whatever genReading knows of it.
func TestReadingAppendJSONCoversEveryField(t *testing.T) {
	var r Reading
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + "<&>")
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.25)
		case reflect.Uint64:
			f.SetUint(uint64(i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer:
			p := reflect.New(f.Type().Elem())
			p.Elem().SetFloat(float64(i) + 0.5)
			f.Set(p)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"a", "b"}))
		default:
			t.Fatalf("field %s: kind %s not handled by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	want, _ := json.Marshal(r)
	got, err := r.AppendJSON(nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %s, %v\nwant %s", got, err, want)
	}
	ev, err := NewReading(&r)
	if err != nil || !bytes.Equal(ev.Body, want) || ev.Kind != KindReading {
		t.Fatalf("NewReading: %+v %v", ev, err)
	}
}

// json.Marshal refuses NaN and infinities; so does AppendJSON.
func TestReadingAppendJSONRefusesNaN(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(-1)
	for _, r := range []Reading{{BodyC: &nan}, {RawC: &inf}, {ThresholdC: nan}, {OffsetC: math.Inf(1)}, {Gain: nan}} {
		if _, err := json.Marshal(r); err == nil {
			t.Fatal("json.Marshal took a NaN")
		}
		if b, err := r.AppendJSON(nil); err == nil {
			t.Errorf("%+v: AppendJSON wrote %s", r, b)
		}
		if _, err := NewReading(&r); err == nil {
			t.Errorf("%+v: NewReading took it", r)
		}
	}
}

func BenchmarkReadingJSON(b *testing.B) {
	body, raw, amb := 36.62, 35.81, 24.5
	r := Reading{Lane: "lane1", Role: RoleStudent, Device: "gate1", RawC: &raw, AmbientC: &amb, BodyC: &body,
		Verdict: VerdictPass, Mode: "body", ThresholdC: 37.3, PersonID: "S-20231", Round: "morning"}
	b.Run("marshal", func(b *testing.B) { // the way before: event.New, by reflection
		b.ReportAllocs()
		for b.Loop() {
			if _, err := New(KindReading, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewReading(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
