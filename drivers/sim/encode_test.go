package sim

import (
	"strings"
	"testing"
)

func TestEncodeGYMCUDatasheetExample(t *testing.T) {
	// GY-MCU90614 manual: 5A 5A 45 04 0C 78 0D 19 A7 = object 31.92 °C,
	// ambient 33.53 °C.
	want := [9]byte{0x5a, 0x5a, 0x45, 0x04, 0x0c, 0x78, 0x0d, 0x19, 0xa7}
	if got := EncodeGYMCU(31.92, 33.53); got != want {
		t.Fatalf("EncodeGYMCU(31.92, 33.53) = % x, want % x", got, want)
	}
}

func TestEncodeGYMCUSignedAndClamped(t *testing.T) {
	tests := []struct {
		name     string
		obj, amb float64
		to, ta   uint16 // big-endian words expected in bytes 4–5 and 6–7
	}{
		{"negative ambient is two's complement", 36.5, -5.25, 3650, 0xfdf3}, // -525
		{"rounds to the nearest hundredth", 36.456, 0.004, 3646, 0},
		{"clamps above int16", 400, 22, 0x7fff, 2200},
		{"clamps below int16", -400, 22, 0x8000, 2200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := EncodeGYMCU(tt.obj, tt.amb)
			to, ta := uint16(f[4])<<8|uint16(f[5]), uint16(f[6])<<8|uint16(f[7])
			if to != tt.to || ta != tt.ta {
				t.Fatalf("TO %#04x TA %#04x, want %#04x %#04x", to, ta, tt.to, tt.ta)
			}
			var sum byte
			for _, b := range f[:8] {
				sum += b
			}
			if f[8] != sum {
				t.Fatalf("checksum %#02x, want %#02x", f[8], sum)
			}
		})
	}
}

func TestMLXResponse(t *testing.T) {
	if got, want := MLXResponse(0x5a, 0x07, 0x3ad2), [3]byte{0xd2, 0x3a, 0x30}; got != want {
		t.Fatalf("MLXResponse = % x, want % x", got, want)
	}
	for _, c := range []float64{-40, 0, 22.5, 33.17, 37.3, 39} {
		raw := MLXRaw(c)
		if back := float64(raw)*0.02 - 273.15; back < c-0.0101 || back > c+0.0101 {
			t.Errorf("MLXRaw(%v) = %#04x decodes to %.3f", c, raw, back)
		}
	}
	if got := MLXRaw(1000); got != 0x7fff {
		t.Errorf("MLXRaw(1000) = %#04x, want 0x7fff (bit 15 is the error flag)", got)
	}
}

func TestLineFormat(t *testing.T) {
	tests := []struct {
		name, format, end string
		temp, amb         float64
		want              string
	}{
		{"default", DefaultLineFormat, "", 36.5, 24.1, "T=36.5 A=24.1\r\n"},
		{"default with alarm", DefaultLineFormat, "", 37.3, 24.1, "T=37.3 A=24.1 ALARM\r\n"},
		{"rounds like %.1f", DefaultLineFormat, "\n", 37.25, 24.06, "T=37.2 A=24.1\n"},
		{"fahrenheit with counter", `#{{.Count}} {{printf "%.1f" .TempF}}F{{if .Alarm}} !{{end}}`, "\r", 38, 20, "#7 100.4F !\r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := NewLineFormat(tt.format, tt.end)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lf.Line(tt.temp, tt.amb, 7)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLineFormatRejectsUnknownField(t *testing.T) {
	_, err := NewLineFormat(`T={{.Tmp}}`, "")
	if err == nil || !strings.Contains(err.Error(), "Tmp") {
		t.Fatalf("err = %v, want one naming Tmp", err)
	}
}
