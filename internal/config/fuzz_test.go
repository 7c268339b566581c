package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatescreen/gatescreen/internal/config"
)

// FuzzParse: any input gives either a config that prints the same after a
// print and parse round trip, or Errors that each name the file and a line.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testdataDir, "*.bad.yaml"))
	for _, path := range append(seeds, example) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("f.yaml", data)
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not a non-empty Errors: %v", err)
			}
			for _, e := range errs {
				if e.File != "f.yaml" || e.Line < 1 || e.Msg == "" {
					t.Fatalf("malformed error %+v", *e)
				}
			}
			return
		}
		out, err := cfg.Redacted()
		if err != nil {
			t.Fatal(err)
		}
		again, err := config.Parse("printed", out)
		if err != nil {
			t.Fatalf("printed config rejected: %v\n%s", err, out)
		}
		// Printing is a fixed point. (DeepEqual would trip over an absent
		// list, nil, printed as [] and read back empty.)
		out2, err := again.Redacted()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) {
			t.Fatalf("round trip changed the config:\n%s\n%s", out, out2)
		}
	})
}
