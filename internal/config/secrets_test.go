package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/internal/config"
)

// writeSecret writes a secret file with exactly the given mode, whatever the
// umask.
func writeSecret(t *testing.T, dir, name, value string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadSecrets(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Uplink.PasswordFile = writeSecret(t, dir, "mqtt.password", "correct horse\n", 0o600)
	cfg.Uplink.PseudonymKeyFile = writeSecret(t, dir, "pseudonym.key", "0123456789abcdef0123456789abcdef\r\n", 0o400)
	cfg.Screen.DoctorPINFile = writeSecret(t, dir, "doctor.pin", "4711\n\n", 0o600)
	cfg.Screen.TeacherPINFile = writeSecret(t, dir, "teacher.pin", "1357\n", 0o600)

	s, err := cfg.ReadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if s.MQTTPassword != "correct horse" {
		t.Errorf("password %q: one trailing newline must be trimmed", s.MQTTPassword)
	}
	if string(s.PseudonymKey) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("pseudonym key %q: a CRLF must be trimmed", s.PseudonymKey)
	}
	if s.DoctorPIN != "4711\n" {
		t.Errorf("PIN %q: only one trailing newline may be trimmed", s.DoctorPIN)
	}

	// However they are printed or logged, the values stay hidden.
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, shown := range []string{s.String(), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), string(js)} {
		for _, secret := range []string{"horse", "0123456789", "4711", "1357"} {
			if strings.Contains(shown, secret) {
				t.Errorf("secret %q leaks in %q", secret, shown)
			}
		}
	}
	if !strings.Contains(s.String(), "mqtt_password: set") || !strings.Contains(s.String(), "teacher_pin: set") || s.TeacherPIN != "1357" {
		t.Errorf("String() should say which secrets are set: %s", s)
	}
	// A teacher with the doctor's PIN would have the doctor's desk.
	cfg.Screen.TeacherPINFile = writeSecret(t, dir, "same.pin", "4711\n\n", 0o600)
	if _, err := cfg.ReadSecrets(); err == nil || !strings.Contains(err.Error(), "the same PIN as the doctor's") {
		t.Errorf("the doctor's PIN as the teachers': %v", err)
	}
}

func TestReadSecretsUnset(t *testing.T) {
	cfg := config.Default()
	s, err := cfg.ReadSecrets()
	if err != nil || s.MQTTPassword != "" || s.PseudonymKey != nil || s.DoctorPIN != "" {
		t.Fatalf("no secret files configured: got %v, %v", s, err)
	}
	if !strings.Contains(s.String(), "mqtt_password: unset") {
		t.Errorf("String() = %s", s)
	}
}

func TestReadSecretsRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"group-readable", "s3cret-value\n", 0o640, "is readable by group or others (mode 0640): run chmod 600 "},
		{"world-readable", "s3cret-value\n", 0o604, "(mode 0604): run chmod 600 "},
		{"group-writable", "s3cret-value\n", 0o620, "(mode 0620): run chmod 600 "},
		{"empty", "\n", 0o600, "is empty"},
		{"huge", strings.Repeat("x", 5000), 0o600, "is larger than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			path := writeSecret(t, dir, tc.name, tc.content, tc.mode)
			cfg.Screen.DoctorPINFile = path
			_, err := cfg.ReadSecrets()
			if err == nil || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "screen.doctor_pin_file") || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming the key and %s and saying %q", err, path, tc.want)
			}
			if secret := strings.TrimSpace(tc.content); secret != "" && strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestReadSecretsReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Uplink.PasswordFile = filepath.Join(dir, "missing.password")
	cfg.Uplink.PseudonymKeyFile = writeSecret(t, dir, "short.key", "abc\n", 0o600)
	cfg.Screen.DoctorPINFile = writeSecret(t, dir, "doctor.pin", "4711\n", 0o644)
	_, err := cfg.ReadSecrets()
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("want an error matching ErrInvalid, got %v", err)
	}
	for _, want := range []string{
		"uplink.password_file: open " + cfg.Uplink.PasswordFile,
		"uplink.pseudonym_key_file: " + cfg.Uplink.PseudonymKeyFile + ": the key has 3 bytes, use at least 16",
		"screen.doctor_pin_file: " + cfg.Screen.DoctorPINFile + " is readable by group or others",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestPasswordWrittenInConfigIsNotEchoed(t *testing.T) {
	_, err := config.Parse("gate.yaml", []byte(minimal+"uplink:\n  username: box\n  password: hunter2\n"))
	if err == nil || !strings.Contains(err.Error(), "gate.yaml:15: uplink.password: is not a known key; did you mean password_file?") {
		t.Fatalf("want an unknown-key error pointing to password_file, got %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error echoes the password: %v", err)
	}
}
