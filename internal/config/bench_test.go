package config_test

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gatescreen/gatescreen/internal/config"
)

// BenchmarkParse measures loading the documented example: strict decoding,
// the line index and validation. Config loading runs at start-up and on
// SIGHUP, not per reading; the benchmark guards against it growing slow.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(example)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := config.Parse("gate.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineYAMLDecode is the floor: yaml.v3 decoding the same file
// into the same struct, with no index and no validation.
func BenchmarkBaselineYAMLDecode(b *testing.B) {
	data, err := os.ReadFile(example)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		cfg := config.Default()
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			b.Fatal(err)
		}
	}
}
