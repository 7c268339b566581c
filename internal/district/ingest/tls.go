package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// tlsConfig is the broker connection's TLS from PEM files: caFile the
// broker's CA (empty: the system's roots), certFile and keyFile this
// ingester's client certificate for mutual TLS (both or neither). All
// empty is nil: the broker URL's scheme alone decides (ssl:// with the
// system's roots). The district builds its own rather than sharing the
// box's (sync/uplink): the two binaries share only the MQTT contract.
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ingest: CA file %s: %w", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ingest: CA file %s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		return nil, fmt.Errorf("ingest: client certificate %q and key %q: mutual TLS needs both files", certFile, keyFile)
	default:
		for _, f := range []struct{ what, path string }{{"client certificate", certFile}, {"client key", keyFile}} {
			if _, err := os.Stat(f.path); err != nil {
				return nil, fmt.Errorf("ingest: %s %s: %w", f.what, f.path, err)
			}
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("ingest: client certificate %s with key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// tlsRefusal explains a failed connection that retrying cannot mend: the
// broker's certificate not signed by the CA the ingester trusts, or the
// broker refusing the ingester's certificate. Other errors are nil: the
// connection is tried again.
func (in *Ingester) tlsRefusal(err error) error {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &verify) || errors.As(err, &unknown) {
		trust := "the system's roots (give -ca-file)"
		if in.opts.CAFile != "" {
			trust = "the CA file " + in.opts.CAFile
		}
		return fmt.Errorf("ingest: the certificate of broker %s is not trusted by %s: %w", in.opts.Broker, trust, err)
	}
	// crypto/tls gives a TLS alert the broker sent as a net.OpError "remote
	// error" (tls.AlertError is QUIC's).
	var remote *net.OpError
	if errors.As(err, &remote) && remote.Op == "remote error" {
		cert := "no client certificate (give -cert-file and -key-file)"
		if in.opts.CertFile != "" {
			cert = "the client certificate " + in.opts.CertFile
		}
		return fmt.Errorf("ingest: broker %s refused the TLS handshake with %s: %w", in.opts.Broker, cert, err)
	}
	return nil
}
