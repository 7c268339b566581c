package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Secrets are the values read from the files the configuration names. They
// are kept out of the configuration so that printing, logging or uploading a
// configuration can never leak them.
type Secrets struct {
	// MQTTPassword is read from uplink.password_file.
	MQTTPassword string
	// PseudonymKey is read from uplink.pseudonym_key_file.
	PseudonymKey []byte
	// DoctorPIN is read from screen.doctor_pin_file.
	DoctorPIN string
	// TeacherPIN is read from screen.teacher_pin_file.
	TeacherPIN string
}

// maxSecretSize bounds a secret file: a password or key is a line, and a
// path pointing at a log file by mistake must not be read into memory.
const maxSecretSize = 4096

// minPseudonymKey is the shortest HMAC key accepted: a short key would let
// anyone holding the uploads guess roster ids back.
const minPseudonymKey = 16

// ReadSecrets reads the secret files the configuration names; an unset file
// leaves its secret empty. It refuses a file that group or others may read,
// and returns every problem at once, wrapping ErrInvalid.
func (c *Config) ReadSecrets() (Secrets, error) {
	var s Secrets
	var errs []error
	read := func(key, path string) string {
		if path == "" {
			return ""
		}
		v, err := readSecret(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		return v
	}
	s.MQTTPassword = read("uplink.password_file", c.Uplink.PasswordFile)
	key := read("uplink.pseudonym_key_file", c.Uplink.PseudonymKeyFile)
	if key != "" && len(key) < minPseudonymKey {
		errs = append(errs, fmt.Errorf("uplink.pseudonym_key_file: %s: the key has %d bytes, use at least %d (e.g. openssl rand -hex 32)",
			c.Uplink.PseudonymKeyFile, len(key), minPseudonymKey))
	}
	if key != "" {
		s.PseudonymKey = []byte(key)
	}
	s.DoctorPIN = read("screen.doctor_pin_file", c.Screen.DoctorPINFile)
	s.TeacherPIN = read("screen.teacher_pin_file", c.Screen.TeacherPINFile)
	if s.TeacherPIN != "" && s.TeacherPIN == s.DoctorPIN {
		errs = append(errs, fmt.Errorf("screen.teacher_pin_file: %s: the same PIN as the doctor's: a teacher would have the doctor's desk", c.Screen.TeacherPINFile))
	}
	if len(errs) > 0 {
		return Secrets{}, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return s, nil
}

// readSecret reads one secret file, trimming one trailing newline (editors
// add one). The mode is checked on the opened file, so the file checked is
// the file read.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by group or others (mode %04o): run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxSecretSize {
		return "", fmt.Errorf("%s is larger than %d bytes: is it the right file?", path, maxSecretSize)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// String tells which secrets are set, never their values.
func (s Secrets) String() string {
	set := func(ok bool) string {
		if ok {
			return "set"
		}
		return "unset"
	}
	return fmt.Sprintf("Secrets{mqtt_password: %s, pseudonym_key: %s, doctor_pin: %s, teacher_pin: %s}",
		set(s.MQTTPassword != ""), set(len(s.PseudonymKey) > 0), set(s.DoctorPIN != ""), set(s.TeacherPIN != ""))
}

// GoString redacts %#v too.
func (s Secrets) GoString() string { return s.String() }

// MarshalJSON redacts secrets handed to a JSON logger by mistake.
func (s Secrets) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }
