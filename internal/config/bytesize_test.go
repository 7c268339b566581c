package config_test

import (
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/internal/config"
)

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want config.ByteSize
	}{
		{"1048576", 1 << 20},
		{"0", 0},
		{"512B", 512},
		{"64KB", 64_000},
		{"64MB", 64_000_000},
		{"2GB", 2_000_000_000},
		{"4KiB", 4 << 10},
		{"256MiB", 256 << 20},
		{"1GiB", 1 << 30},
		{" 1 GiB ", 1 << 30},
	} {
		got, err := config.ParseByteSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "1.5GiB", "1mib", "1 megabyte", "8EiB", "99999999999GiB", "99999999999999999999"} {
		if got, err := config.ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	for _, tc := range []struct {
		in   config.ByteSize
		want string
	}{
		{256 << 20, "256MiB"}, {1 << 30, "1GiB"}, {3 << 10, "3KiB"}, {64_000_000, "62500KiB"}, {1000, "1000"}, {0, "0"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
		back, err := config.ParseByteSize(tc.in.String())
		if err != nil || back != tc.in {
			t.Errorf("%s does not parse back: %d, %v", tc.in, back, err)
		}
	}
}

func TestByteSizeNotAScalar(t *testing.T) {
	_, err := config.Parse("gate.yaml", []byte(minimal+"storage:\n  max_size: [1, 2]\n"))
	if err == nil || !strings.Contains(err.Error(), "gate.yaml:14: storage.max_size: must be a single value, not a list") {
		t.Fatalf("got %v", err)
	}
}
