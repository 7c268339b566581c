package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/internal/config"
)

const example = "../../configs/gate.example.yaml"

func TestRedactedRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"example", mustRead(t, example)},
		{"minimal", minimal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := config.Parse(tc.name, []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			out, err := first.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			second, err := config.Parse(tc.name+" printed", out)
			if err != nil {
				t.Fatalf("printed config does not parse:\n%v\n%s", err, out)
			}
			if !reflect.DeepEqual(first, second) {
				t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", first, second, out)
			}
		})
	}
}

func TestRedactedKeepsSecretFilesNotSecrets(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Uplink.PasswordFile = writeSecret(t, dir, "mqtt.password", "hunter2-value\n", 0o600)
	cfg.Uplink.PseudonymKeyFile = writeSecret(t, dir, "pseudonym.key", "pseudonym-key-value-0123456789\n", 0o600)
	cfg.Screen.DoctorPINFile = writeSecret(t, dir, "doctor.pin", "pin-value-4711\n", 0o600)
	cfg.Screen.TeacherPINFile = writeSecret(t, dir, "teacher.pin", "pin-value-1357\n", 0o600)
	if _, err := cfg.ReadSecrets(); err != nil {
		t.Fatal(err)
	}
	// A config built in code may carry credentials in the URL; the printout
	// must not.
	cfg.Uplink.Broker = "tcp://box:url-password-value@mqtt.example:1883"

	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{cfg.Uplink.PasswordFile, cfg.Uplink.PseudonymKeyFile, cfg.Screen.DoctorPINFile, cfg.Screen.TeacherPINFile} {
		if !bytes.Contains(out, []byte(path)) {
			t.Errorf("secret file path %s missing from:\n%s", path, out)
		}
	}
	for _, secret := range []string{"hunter2-value", "pseudonym-key-value", "pin-value", "url-password-value"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("secret %q printed:\n%s", secret, out)
		}
	}
	if !bytes.Contains(out, []byte("broker: tcp://box:xxxxx@mqtt.example:1883")) {
		t.Errorf("broker URL not masked:\n%s", out)
	}
	if cfg.Uplink.Broker != "tcp://box:url-password-value@mqtt.example:1883" {
		t.Errorf("Redacted changed the config itself: %s", cfg.Uplink.Broker)
	}
}

func TestRedactedReadable(t *testing.T) {
	cfg, err := config.Parse("minimal", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	// Operators compare the printout with their file: sizes and durations
	// read as they would write them.
	for _, want := range []string{"max_size: 256MiB", "commit_interval: 200ms", "threshold_c: 37.3", "retention: 720h0m0s", "box_id: no1-east"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	var out bytes.Buffer
	if err := config.CheckConfig(&out, example); err != nil {
		t.Fatalf("example rejected: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), "# effective configuration of "+example) ||
		!strings.Contains(out.String(), "pseudonym_key_file: /etc/gatescreen/pseudonym.key") {
		t.Fatalf("unexpected output:\n%s", out.String())
	}
	if _, err := config.Parse("printed", out.Bytes()); err != nil {
		t.Fatalf("check-config output is not a valid config: %v", err)
	}

	out.Reset()
	bad := filepath.Join(testdataDir, "many-errors.bad.yaml")
	err := config.CheckConfig(&out, bad)
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != len(badConfigs["many-errors"]) {
		t.Fatalf("want every error of %s, got %v", bad, err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(errs) {
		t.Fatalf("want one line per error, got:\n%s", out.String())
	}
	for i, e := range errs {
		if lines[i] != e.Error() || !strings.HasPrefix(lines[i], bad+":") {
			t.Errorf("line %d = %q, want %q", i, lines[i], e.Error())
		}
	}

	out.Reset()
	if err := config.CheckConfig(&out, filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(out.String(), "missing.yaml") {
		t.Fatalf("missing file: err %v, output %q", err, out.String())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
