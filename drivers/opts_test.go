package drivers

import (
	"math"
	"testing"
	"time"
)

func TestWithDefaults(t *testing.T) {
	type opts struct {
		Name    string
		Addr    uint16
		RateHz  float64
		Timeout time.Duration
		Flag    bool
		Ptr     *float64
	}
	def := opts{Name: "dev", Addr: 0x5A, RateHz: 8, Timeout: time.Second}
	if got := WithDefaults(nil, def); got != def {
		t.Fatalf("nil opts: got %+v, want the defaults %+v", got, def)
	}
	x := 1.5
	in := opts{Addr: 0x5B, RateHz: math.Copysign(0, -1), Flag: true, Ptr: &x}
	got := WithDefaults(&in, def)
	want := opts{Name: "dev", Addr: 0x5B, RateHz: 8, Timeout: time.Second, Flag: true, Ptr: &x}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if in.Name != "" {
		t.Fatal("WithDefaults changed the caller's Opts")
	}
}

// NaN and negative values are values, not "unset": they are kept, as the
// drivers' own merges (opts.X != 0) kept them, so that New refuses them
// instead of running with the default.
func TestWithDefaultsKeepsNaNAndNegatives(t *testing.T) {
	type opts struct {
		RateHz  float64
		Retries int
		Timeout time.Duration
	}
	def := opts{RateHz: 8, Retries: 3, Timeout: time.Second}
	got := WithDefaults(&opts{RateHz: math.NaN(), Retries: -1, Timeout: -time.Second}, def)
	if !math.IsNaN(got.RateHz) || got.Retries != -1 || got.Timeout != -time.Second {
		t.Fatalf("got %+v, want NaN, -1 and -1s kept", got)
	}
	if got := WithDefaults(&opts{RateHz: -2}, def); got.RateHz != -2 {
		t.Fatalf("negative rate replaced: %+v", got)
	}
}

func TestI2CName(t *testing.T) {
	if name, err := I2CName("mlx90614", "", 0x5A, nil); err == nil || name != "mlx90614@0x5a" || err.Error() != "mlx90614 mlx90614@0x5a: no I²C bus" {
		t.Fatalf("no bus: got %q, %v", name, err)
	}
}
