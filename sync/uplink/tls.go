package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSConfig builds the client TLS configuration from PEM files. caFile empty
// means the system roots; certFile and keyFile (the box's client
// certificate, whose CN the district broker takes as the user name) are
// both given or both empty.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("uplink: CA file %s: %w", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("uplink: CA file %s: %w", caFile, errNoCertificates)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		return nil, fmt.Errorf("uplink: client certificate %q and key %q: %w", certFile, keyFile, errCertWithoutKey)
	default:
		if _, err := os.Stat(certFile); err != nil {
			return nil, fmt.Errorf("uplink: client certificate %s: %w", certFile, err)
		}
		if _, err := os.Stat(keyFile); err != nil {
			return nil, fmt.Errorf("uplink: client key %s: %w", keyFile, err)
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("uplink: client certificate %s with key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

var (
	errNoCertificates = errors.New("no PEM certificate found")
	errCertWithoutKey = errors.New("a client certificate needs both the certificate and the key file")
)
