package uplink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/event"
)

// testCA issues certificates for one test.
type testCA struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gatescreen test district CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{t: t, dir: t.TempDir(), cert: cert, key: key}
	ca.file = ca.write("ca.crt", "CERTIFICATE", der)
	return ca
}

func (ca *testCA) write(name, typ string, der []byte) string {
	ca.t.Helper()
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// issue makes a certificate for cn and returns the certificate and key files.
func (ca *testCA) issue(name, cn string, server bool) (certFile, keyFile string) {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return ca.write(name+".crt", "CERTIFICATE", der), ca.write(name+".key", "EC PRIVATE KEY", kder)
}

func (ca *testCA) clientTLS(name, cn string) *tls.Config {
	ca.t.Helper()
	cert, key := ca.issue(name, cn, false)
	cfg, err := TLSConfig(ca.file, cert, key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return cfg
}

// exampleConf is scripts/mosquitto/mosquitto.conf with the test's port,
// files and loopback address; every setting it rewrites must be there.
func exampleConf(t *testing.T, port int, ca *testCA, serverCert, serverKey string) string {
	t.Helper()
	b, err := os.ReadFile("../../scripts/mosquitto/mosquitto.conf")
	if err != nil {
		t.Fatal(err)
	}
	acl, err := filepath.Abs("../../scripts/mosquitto/gatescreen.acl")
	if err != nil {
		t.Fatal(err)
	}
	replace := map[string]string{
		"listener":             fmt.Sprintf("listener %d 127.0.0.1", port),
		"persistence_location": "persistence_location " + t.TempDir() + "/",
		"log_dest":             "log_dest stderr",
		"cafile":               "cafile " + ca.file,
		"certfile":             "certfile " + serverCert,
		"keyfile":              "keyfile " + serverKey,
		"acl_file":             "acl_file " + acl,
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		key, _, _ := strings.Cut(line, " ")
		if r, ok := replace[key]; ok {
			line = r
			delete(replace, key)
		}
		out = append(out, line)
	}
	if len(replace) > 0 {
		t.Fatalf("example mosquitto.conf lacks %v", replace)
	}
	if os.Geteuid() == 0 {
		out = append(out, "user root")
	}
	return strings.Join(out, "\n")
}

func connectTLS(t *testing.T, url, id string, cfg *tls.Config) paho.Client {
	t.Helper()
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetTLSConfig(cfg).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl
}

func publishOK(t *testing.T, cl paho.Client, topic, payload string) {
	t.Helper()
	if tok := cl.Publish(topic, 1, false, payload); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// The example broker configuration and ACL with client certificates: a box
// delivers under its own prefix, cannot write outside it and cannot read
// other schools.
func TestMosquittoTLSAndExampleACL(t *testing.T) {
	requireProgram(t, "mosquitto", "mosquitto")
	ca := newTestCA(t)
	srvCert, srvKey := ca.issue("broker", "broker", true)
	port := freePort(t)
	m := newMosquitto(t, port, exampleConf(t, port, ca, srvCert, srvKey))
	m.start()
	url := m.url("ssl")

	consumer := newCollector()
	subscribe(t, url, "district-consumer", "gatescreen/v1/#", true, ca.clientTLS("consumer", "district-consumer"), consumer)

	// The uplink of school-17's east gate, with its own certificate.
	boxCfg := ca.clientTLS("box17", "haidian/school-17/east")
	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 30)
	o := testOpts(url)
	o.TLS = boxCfg
	u := newUplink(t, ob, o)
	runUplink(t, u)
	waitFor(t, "the box's events at the consumer", func() bool { return consumer.distinct() == len(seqs) })
	expectIDs(t, consumer, "hd17-east", seqs)

	// The same certificate writing as another school is refused: the
	// marker on its own prefix, sent after it, arrives; the forgery never.
	rogue := connectTLS(t, url, "rogue-17", boxCfg)
	publishOK(t, rogue, "gatescreen/v1/haidian/school-18/west/cases", `{"id":"forged:1"}`)
	publishOK(t, rogue, "gatescreen/v1/haidian/school-17/east/health", `{"id":"marker:1"}`)
	waitFor(t, "the marker", func() bool { consumer.mu.Lock(); defer consumer.mu.Unlock(); return consumer.ids["marker:1"] == 1 })
	consumer.mu.Lock()
	forged := consumer.ids["forged:1"]
	consumer.mu.Unlock()
	if forged != 0 {
		t.Fatal("a box published outside its prefix")
	}

	// A box cannot read another school's topics.
	spy := newCollector()
	subscribe(t, url, "spy-17", "gatescreen/v1/haidian/school-18/#", true, boxCfg, spy)
	other := connectTLS(t, url, "box-18", ca.clientTLS("box18", "haidian/school-18/west"))
	publishOK(t, other, "gatescreen/v1/haidian/school-18/west/cases", `{"id":"hd18-west:1"}`)
	waitFor(t, "school-18's event at the consumer", func() bool {
		consumer.mu.Lock()
		defer consumer.mu.Unlock()
		return consumer.ids["hd18-west:1"] == 1
	})
	time.Sleep(300 * time.Millisecond) // the broker delivers to all subscribers at once; leave margin
	if n := spy.distinct(); n != 0 {
		t.Fatalf("school-17's certificate read %d events of school-18", n)
	}

	// Without a client certificate the broker refuses the connection.
	noCert, err := TLSConfig(ca.file, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("anon").SetTLSConfig(noCert).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false))
	if tok := cl.Connect(); tok.WaitTimeout(long) && tok.Error() == nil {
		cl.Disconnect(0)
		t.Fatal("connected without a client certificate")
	}
}

func TestTLSConfigErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	notPEM := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(notPEM, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ca, cert, key, want string
	}{
		{"missing CA", missing, "", "", missing},
		{"CA not PEM", notPEM, "", "", notPEM},
		{"cert without key", "", notPEM, "", "both"},
		{"missing cert", "", missing, notPEM, missing},
		{"missing key", "", notPEM, missing, missing},
		{"bad pair", "", notPEM, notPEM, notPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TLSConfig(tc.ca, tc.cert, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
