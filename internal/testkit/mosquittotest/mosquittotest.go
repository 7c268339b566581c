package mosquittotest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// wait bounds every wait on the broker: generous, never a speed target.
const wait = 30 * time.Second

// RequireProgram returns the path of an external program. When it is
// missing the test is skipped on a developer's machine and fails in CI
// (CI=true), which installs it with apt-get.
func RequireProgram(t testing.TB, name, pkg string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/" + name); err == nil { // not on a user's PATH
		return "/usr/sbin/" + name
	}
	ci.Missing(t, "%s not installed (apt-get install -y %s)", name, pkg)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago
// (mosquitto cannot report a port 0 choice back).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// PlainConf is a test broker: loopback only, persistence so that a restart
// keeps a consumer's session, and queues large enough that a slow consumer
// never loses a QoS 1 message (Mosquitto's default of 1,000 drops them).
func PlainConf(t testing.TB, port int) string {
	return fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 1000000
max_queued_bytes 0
log_dest stderr
log_type error
log_type warning
`, port, t.TempDir()) + asRoot()
}

// asRoot keeps a broker started by root from switching to the user
// mosquitto, which cannot read the test's files.
func asRoot() string {
	if os.Geteuid() == 0 {
		return "user root\n"
	}
	return ""
}

// Broker is a mosquitto process owned by one test; it is killed when the
// test ends.
type Broker struct {
	Port int
	t    testing.TB
	bin  string
	conf string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// New prepares a broker with configuration conf listening on port; Start
// runs it.
func New(t testing.TB, port int, conf string) *Broker {
	t.Helper()
	bin := RequireProgram(t, "mosquitto", "mosquitto")
	path := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Broker{Port: port, t: t, bin: bin, conf: path}
	t.Cleanup(func() { b.Stop(syscall.SIGKILL) })
	return b
}

// StartPlain runs a plain broker (PlainConf) on a free port until the test
// ends.
func StartPlain(t testing.TB) *Broker {
	t.Helper()
	port := FreePort(t)
	b := New(t, port, PlainConf(t, port))
	b.Start()
	return b
}

// URL is the broker's address with scheme, e.g. tcp://127.0.0.1:1883.
func (b *Broker) URL(scheme string) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, b.Port)
}

// Start runs the broker and returns once it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	b.out = &bytes.Buffer{}
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(b.cmd, b.done)
	deadline := time.Now().Add(wait)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port))
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-b.done:
			b.t.Fatalf("mosquitto exited: %s", b.out)
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto not listening on %d: %s", b.Port, b.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop signals the broker and waits for it to exit. SIGTERM makes it save
// its persistence file first; SIGKILL loses what it had not saved.
func (b *Broker) Stop(sig syscall.Signal) {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(sig)
	select {
	case <-b.done:
	case <-time.After(wait):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	b.cmd = nil
}

// CA is a test district's certificate authority.
type CA struct {
	// File is the CA certificate (PEM).
	File string
	t    testing.TB
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA valid for a day.
func NewCA(t testing.TB) *CA {
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
	ca := &CA{t: t, dir: t.TempDir(), cert: cert, key: key}
	ca.File = ca.write("ca.crt", "CERTIFICATE", der)
	return ca
}

func (ca *CA) write(name, typ string, der []byte) string {
	ca.t.Helper()
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// Issue makes a certificate for common name cn (a box's is
// "district/school/gate", which the example ACL uses as its user name) and
// returns the certificate and key files. A server certificate is for
// 127.0.0.1.
func (ca *CA) Issue(name, cn string, server bool) (certFile, keyFile string) {
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

// ExampleConf is the example district broker of scripts/mosquitto (under
// repoRoot) with only the port, the certificate files and the persistence
// directory rewritten for a test; every setting it rewrites must be there.
func ExampleConf(t testing.TB, repoRoot string, port int, ca *CA) string {
	t.Helper()
	srvCert, srvKey := ca.Issue("broker", "broker", true)
	return ExampleConfFiles(t, repoRoot, port, ca.File, srvCert, srvKey)
}

// ExampleConfFiles is ExampleConf with a CA and a broker certificate made
// elsewhere (PEM files).
func ExampleConfFiles(t testing.TB, repoRoot string, port int, caFile, certFile, keyFile string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "scripts/mosquitto/mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	acl, err := filepath.Abs(filepath.Join(repoRoot, "scripts/mosquitto/gatescreen.acl"))
	if err != nil {
		t.Fatal(err)
	}
	replace := map[string]string{
		"listener":             fmt.Sprintf("listener %d 127.0.0.1", port),
		"persistence_location": "persistence_location " + t.TempDir() + "/",
		"log_dest":             "log_dest stderr",
		"cafile":               "cafile " + caFile,
		"certfile":             "certfile " + certFile,
		"keyfile":              "keyfile " + keyFile,
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
		t.Fatalf("scripts/mosquitto/mosquitto.conf lacks %v", replace)
	}
	return strings.Join(out, "\n") + "\n" + asRoot()
}
