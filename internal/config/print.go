package config

import (
	"bytes"
	"fmt"
	"io"
	"net/url"

	"gopkg.in/yaml.v3"
)

// Redacted returns the effective configuration as YAML. It names the secret
// files but holds no secret: secrets are only ever read by ReadSecrets, and a
// password written into the broker URL is masked.
func (c *Config) Redacted() ([]byte, error) {
	out := *c
	if u, err := url.Parse(out.Uplink.Broker); err == nil && u.User != nil {
		out.Uplink.Broker = u.Redacted()
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&out); err != nil {
		return nil, fmt.Errorf("config: printing: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: printing: %w", err)
	}
	return b.Bytes(), nil
}

// CheckConfig is `gatescreen check-config FILE`: it writes the effective
// configuration of path to w, or every problem in it, one per line, and then
// returns a non-nil error so the command exits non-zero. Secret files are not
// read: the check may run on another machine or as another user.
func CheckConfig(w io.Writer, path string) error {
	cfg, err := Load(path)
	if err != nil {
		if _, werr := fmt.Fprintln(w, err); werr != nil {
			return werr
		}
		return err
	}
	out, err := cfg.Redacted()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "# effective configuration of %s (defaults included)\n", path); err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}
