package schema

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const source = "../../../testdata/mqtt"

// The embedded copy is the published contract byte for byte: a schema
// changed in testdata/mqtt/schema (where the box's tests check it) without
// copying it here fails this test.
func TestEmbeddedSchemasAreTheTestdataSchemas(t *testing.T) {
	want, err := filepath.Glob(filepath.Join(source, "schema", "*.schema.json"))
	if err != nil || len(want) == 0 {
		t.Fatalf("no schemas in %s/schema: %v", source, err)
	}
	var wantNames []string
	for _, path := range want {
		name := filepath.Base(path)
		wantNames = append(wantNames, name)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.ReadFile(FS(), Dir+"/"+name)
		if err != nil {
			t.Errorf("%s is not embedded: %v (copy testdata/mqtt/schema/%s to internal/district/schema/%s/)", name, err, name, Dir)
			continue
		}
		if !bytes.Equal(got, src) {
			t.Errorf("internal/district/schema/%s/%s differs from testdata/mqtt/schema/%s: copy it again", Dir, name, name)
		}
	}
	embedded, err := fs.Glob(FS(), Dir+"/*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var gotNames []string
	for _, p := range embedded {
		gotNames = append(gotNames, strings.TrimPrefix(p, Dir+"/"))
	}
	sort.Strings(wantNames)
	sort.Strings(gotNames)
	if strings.Join(gotNames, " ") != strings.Join(wantNames, " ") {
		t.Errorf("embedded %v, testdata has %v", gotNames, wantNames)
	}
	var topics []string
	for _, n := range wantNames {
		topics = append(topics, strings.TrimSuffix(n, ".schema.json"))
	}
	sorted := append([]string(nil), Topics...)
	sort.Strings(sorted)
	if strings.Join(sorted, " ") != strings.Join(topics, " ") {
		t.Errorf("Topics = %v, the schemas are %v", Topics, topics)
	}
}

func TestGoldenPayloadsValidate(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	golden := map[string]string{
		"status-online.json": "status", "status-offline.json": "status", "readings.json": "readings",
		"cases.json": "cases", "health.json": "health", "health-calibration.json": "health", "daily.json": "daily",
	}
	for file, topic := range golden {
		b, err := os.ReadFile(filepath.Join(source, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(topic, b); err != nil {
			t.Errorf("%s on %s: %v", file, topic, err)
		}
	}
}

func TestBadPayloads(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, topic, payload string
		want                 error
	}{
		{"not JSON", "status", `{"v":1,`, ErrMalformed},
		{"wrong version", "status", `{"v":2,"state":"online","box":"b","boot_id":"x","version":"1"}`, ErrInvalid},
		{"unknown field", "status", `{"v":1,"state":"online","box":"b","boot_id":"x","version":"1","extra":1}`, ErrInvalid},
		{"time not in the contract's format", "status", `{"v":1,"state":"online","box":"b","boot_id":"x","version":"1","since":"2026-11-23 06:00"}`, ErrInvalid},
		{"date-time out of range", "status", `{"v":1,"state":"online","box":"b","boot_id":"x","version":"1","since":"2026-13-45T06:00:01.000Z"}`, ErrInvalid},
		{"empty batch", "readings", `{"v":1,"box":"b","events":[]}`, ErrInvalid},
		{"health of neither kind", "health", `{"v":1,"box":"b"}`, ErrInvalid},
	} {
		err := v.Validate(tc.topic, []byte(tc.payload))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := v.Validate("gates", []byte(`{}`)); err == nil {
		t.Error("a topic without a schema validated")
	}
}
