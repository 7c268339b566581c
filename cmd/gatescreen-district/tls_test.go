package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// ingest -ca-file -cert-file -key-file against the example district broker
// (TLS, client certificates required): the district CA and a consumer
// certificate subscribe; another CA is refused naming its file (exit 1);
// a file that is not there is named (exit 2, a usage error).
func TestIngestTLSFlags(t *testing.T) {
	ca := mosquittotest.NewCA(t)
	port := mosquittotest.FreePort(t)
	broker := mosquittotest.New(t, port, mosquittotest.ExampleConf(t, "../..", port, ca))
	broker.Start()
	cert, key := ca.Issue("ingest", "district-consumer", false)
	db := "sqlite:" + filepath.Join(t.TempDir(), "district.db")
	args := func(caFile, certFile string) []string {
		return []string{"-broker", broker.URL("ssl"), "-district", "hd", "-client-id", "tls-ingest", "-db", db,
			"-ca-file", caFile, "-cert-file", certFile, "-key-file", key}
	}

	in := startIngester(t, args(ca.File, cert)...)
	in.kill()

	run := func(a []string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := exec.CommandContext(ctx, district.Path(t), append([]string{"ingest"}, a...)...).CombinedOutput()
		return string(b), exitCode(err)
	}
	other := mosquittotest.NewCA(t)
	if out, code := run(args(other.File, cert)); code != exitError || !strings.Contains(out, "not trusted by the CA file "+other.File) {
		t.Errorf("another CA: exit %d\n%s", code, out)
	}
	missing := filepath.Join(t.TempDir(), "no-such.crt")
	if out, code := run(args(ca.File, missing)); code != exitUsage || !strings.Contains(out, "client certificate "+missing) {
		t.Errorf("a missing certificate file: exit %d\n%s", code, out)
	}
	if out, code := run(args(missing, cert)); code != exitUsage || !strings.Contains(out, "CA file "+missing) {
		t.Errorf("a missing CA file: exit %d\n%s", code, out)
	}
}
