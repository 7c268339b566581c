package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// byteUnits are the suffixes ParseByteSize accepts. Both families exist in the
// wild: SD cards are sold in MB, bbolt's mmap limits are in MiB.
var byteUnits = map[string]int64{
	"":    1,
	"B":   1,
	"KB":  1000,
	"MB":  1000 * 1000,
	"GB":  1000 * 1000 * 1000,
	"KiB": 1 << 10,
	"MiB": 1 << 20,
	"GiB": 1 << 30,
}

// ParseByteSize reads a whole number of bytes with an optional unit: "1048576",
// "64MB", "256MiB", "1 GiB". Fractions and negative sizes are refused.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if digits == 0 {
		return 0, fmt.Errorf("%q does not start with a whole number", s)
	}
	unit := strings.TrimSpace(s[digits:])
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("%q has an unknown unit %q (use B, KB, MB, GB, KiB, MiB or GiB)", s, unit)
	}
	n, err := strconv.ParseInt(s[:digits], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(n * mult), nil
}

// String writes the size in the largest binary unit that divides it exactly,
// so the effective configuration reads like the file an operator wrote.
func (b ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		size   ByteSize
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// UnmarshalYAML accepts what ParseByteSize accepts. A bad value is reported as
// a *yaml.TypeError so the decoder goes on and every other error in the file
// is reported too.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if v, err := ParseByteSize(n.Value); err == nil {
			*b = v
			return nil
		}
	}
	return &yaml.TypeError{Errors: []string{
		fmt.Sprintf("line %d: cannot unmarshal %s `%s` into config.ByteSize", n.Line, n.ShortTag(), n.Value),
	}}
}

// MarshalYAML writes the size as String does.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }
