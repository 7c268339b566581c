package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
)

// tlsBroker is the example district broker (scripts/mosquitto: TLS 1.2,
// client certificates required, the certificate's CN the user name) with
// its CA.
func tlsBroker(t *testing.T) (*mosquittotest.Broker, *mosquittotest.CA) {
	t.Helper()
	ca := mosquittotest.NewCA(t)
	port := mosquittotest.FreePort(t)
	b := mosquittotest.New(t, port, mosquittotest.ExampleConf(t, "../../..", port, ca))
	b.Start()
	return b, ca
}

// An ingester with the district CA and a consumer certificate takes a
// box's message through the TLS broker.
func TestIngestOverMutualTLS(t *testing.T) {
	t.Parallel()
	broker, ca := tlsBroker(t)
	cert, key := ca.Issue("ingest", "district-consumer", false)
	s := sqliteStore(t)
	in := start(t, Opts{Broker: broker.URL("ssl"), Store: s, CAFile: ca.File, CertFile: cert, KeyFile: key})

	boxCert, boxKey := ca.Issue("box", "hd/hd17/east", false)
	tc, err := tlsConfig(ca.File, boxCert, boxKey)
	if err != nil {
		t.Fatal(err)
	}
	box := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL("ssl")).SetClientID("hd17-east").SetTLSConfig(tc))
	if tok := box.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("box: %v", tok.Error())
	}
	defer box.Disconnect(100)
	publish(t, box, east+"readings", false, readingsPayload("hd17-east", 1, 2))
	poll.Until(t, 30*time.Second, "the box's message acknowledged", func() bool { return in.Stats().Acked == 1 })
	if ids := eventIDs(t, s); len(ids) != 2 {
		t.Errorf("%d events, want 2", len(ids))
	}
}

// A broker whose certificate the ingester's CA file did not sign, or one
// that refuses the ingester's certificate, stops Run with an error naming
// the file: retrying cannot mend it.
func TestTLSRefusedNamesTheFile(t *testing.T) {
	t.Parallel()
	broker, ca := tlsBroker(t)
	other := mosquittotest.NewCA(t)
	cert, key := ca.Issue("ingest", "district-consumer", false)
	otherCert, otherKey := other.Issue("stranger", "district-consumer", false)
	for name, c := range map[string]struct {
		opts Opts
		want []string
	}{
		"the wrong CA":                 {Opts{CAFile: other.File, CertFile: cert, KeyFile: key}, []string{other.File, "not trusted"}},
		"the system's roots":           {Opts{CertFile: cert, KeyFile: key}, []string{"system's roots", "-ca-file"}},
		"ssl:// without TLS files":     {Opts{}, []string{"system's roots", "-ca-file"}},
		"a certificate of another CA":  {Opts{CAFile: ca.File, CertFile: otherCert, KeyFile: otherKey}, []string{otherCert, "refused the TLS handshake"}},
		"no client certificate at all": {Opts{CAFile: ca.File}, []string{"no client certificate", "-cert-file"}},
	} {
		t.Run(name, func(t *testing.T) {
			o := c.opts
			o.Broker, o.District, o.Group, o.ClientID, o.Store = broker.URL("ssl"), "hd", "g", "c", &flaky{}
			if o.CAFile == "" { // the system's roots: only the broker's chain is wrong
				o.Broker = strings.Replace(o.Broker, "127.0.0.1", "localhost", 1)
			}
			in, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = in.Run(ctx)
			if err == nil {
				t.Fatal("Run returned nil: it kept retrying until its context ended")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// A CA, certificate or key file that is not there, or holds no PEM, is
// New's error naming it.
func TestTLSFilesChecked(t *testing.T) {
	ca := mosquittotest.NewCA(t)
	cert, key := ca.Issue("ingest", "district-consumer", false)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		ca, cert, key string
		want          string
	}{
		"missing CA":        {missing, cert, key, "CA file " + missing},
		"CA without PEM":    {junk, cert, key, "CA file " + junk + ": no PEM certificate"},
		"missing cert":      {ca.File, missing, key, "client certificate " + missing},
		"missing key":       {ca.File, cert, missing, "client key " + missing},
		"cert without key":  {ca.File, cert, "", "needs both"},
		"key of junk":       {ca.File, cert, junk, "with key " + junk},
		"key without cert":  {"", "", key, "needs both"},
		"wrong pair of PEM": {ca.File, key, cert, "client certificate " + key},
	} {
		_, err := New(Opts{Broker: "ssl://127.0.0.1:1", District: "hd", Group: "g", ClientID: "c", Store: &flaky{},
			CAFile: c.ca, CertFile: c.cert, KeyFile: c.key})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}
