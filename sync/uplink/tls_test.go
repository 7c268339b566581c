package uplink

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// clientTLS issues a client certificate for cn and returns its TLS
// configuration, made by the uplink's own TLSConfig.
func clientTLS(t *testing.T, ca *mosquittotest.CA, name, cn string) *tls.Config {
	t.Helper()
	cert, key := ca.Issue(name, cn, false)
	cfg, err := TLSConfig(ca.File, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
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
	mosquittotest.RequireProgram(t, "mosquitto", "mosquitto")
	ca := mosquittotest.NewCA(t)
	port := mosquittotest.FreePort(t)
	m := mosquittotest.New(t, port, mosquittotest.ExampleConf(t, "../..", port, ca))
	m.Start()
	url := m.URL("ssl")

	consumer := newCollector()
	subscribe(t, url, "district-consumer", "gatescreen/v1/#", true, clientTLS(t, ca, "consumer", "district-consumer"), consumer)

	// The uplink of school-17's east gate, with its own certificate.
	boxCfg := clientTLS(t, ca, "box17", "haidian/school-17/east")
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
	other := connectTLS(t, url, "box-18", clientTLS(t, ca, "box18", "haidian/school-18/west"))
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
	noCert, err := TLSConfig(ca.File, "", "")
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

// The certificate commands of scripts/mosquitto/README.md, run as written:
// its box command failed ("Missing '=' after RDN type string": the slashes of
// the CN split it). With their CA and broker certificate the example broker
// accepts the box, and the consumer receives what the box sends.
func TestMosquittoREADMECertificates(t *testing.T) {
	mosquittotest.RequireProgram(t, "mosquitto", "mosquitto")
	mosquittotest.RequireProgram(t, "openssl", "openssl")
	readme, err := os.ReadFile("../../scripts/mosquitto/README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "Make the certificates"); i >= 0 {
		section = section[i:]
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var script []string
	for _, block := range strings.Split(section, "```sh\n")[1:] {
		script = append(script, strings.SplitN(block, "```", 2)[0])
	}
	if len(script) < 3 {
		t.Fatalf("found %d sh blocks in the README's certificate section, want the CA's, the broker's and the clients'", len(script))
	}
	dir := t.TempDir()
	sh := exec.Command("sh", "-e", "-c", strings.Join(script, "\n"))
	sh.Dir = dir
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the README's certificate commands failed: %v\n%s", err, out)
	}
	file := func(name string) string { return filepath.Join(dir, name) }

	port := mosquittotest.FreePort(t)
	m := mosquittotest.New(t, port, mosquittotest.ExampleConfFiles(t, "../..", port,
		file("district-ca.crt"), file("broker.crt"), file("broker.key")))
	m.Start()
	url := m.URL("ssl")
	readmeTLS := func(name string) *tls.Config {
		cfg, err := TLSConfig(file("district-ca.crt"), file(name+".crt"), file(name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServerName = "broker.district.example" // the name the broker's certificate carries
		return cfg
	}
	consumer := newCollector()
	subscribe(t, url, "district-consumer", "gatescreen/v1/#", true, readmeTLS("consumer"), consumer)
	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 5)
	o := testOpts(url)
	o.TLS = readmeTLS("box")
	runUplink(t, newUplink(t, ob, o))
	waitFor(t, "the README box's events at the README consumer", func() bool { return consumer.distinct() == len(seqs) })
	expectIDs(t, consumer, "hd17-east", seqs)
}
