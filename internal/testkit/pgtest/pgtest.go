package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatescreen/gatescreen/internal/testkit/ci"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// Opts configures Start.
type Opts struct {
	// Durable keeps fsync on, as a real deployment runs: for benchmarks.
	// Off (the default) the tests run faster and lose nothing that a
	// server stop (rather than a power cut) would not lose.
	Durable bool
}

// Server is a PostgreSQL server owned by one test; it stops when the test
// ends.
type Server struct {
	Port    int
	t       testing.TB
	bin     string
	data    string
	sockDir string
	logFile string
	cred    *syscall.Credential
	opts    Opts
	dbs     atomic.Int64
}

// Start initialises a cluster and starts its server. Without the
// postgresql package the test skips, and fails under CI=true.
func Start(t testing.TB, opts Opts) *Server {
	t.Helper()
	bin := binDir(t)
	s := &Server{t: t, bin: bin, opts: opts, Port: mosquittotest.FreePort(t)}
	dir := t.TempDir()
	sock, err := os.MkdirTemp("", "pg") // short: a socket path has 107 bytes at most
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sock) })
	s.data, s.sockDir, s.logFile = filepath.Join(dir, "data"), sock, filepath.Join(dir, "server.log")
	if os.Geteuid() == 0 {
		s.cred = serverUser(t)
		// t.TempDir's parent is 0700: the server's user must pass through it.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{dir, sock} {
			if err := os.Chown(d, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(s.logFile); err == nil {
				t.Logf("postgres log:\n%s", b)
			}
		}
		s.pgctl("stop", "-m", "immediate")
	})
	s.Restart()
	return s
}

// binDir finds the newest /usr/lib/postgresql/<version>/bin holding initdb.
func binDir(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if len(dirs) == 0 {
		ci.Missing(t, "postgresql not installed (apt-get install -y postgresql, or scripts/deps.sh)")
	}
	return filepath.Dir(dirs[0])
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// serverUser is the user a root test runs the server as.
func serverUser(t testing.TB) *syscall.Credential {
	t.Helper()
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	t.Fatal("running as root and neither user postgres nor nobody exists: initdb refuses root")
	return nil
}

func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Dir = "/"
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (s *Server) pgctl(args ...string) {
	s.t.Helper()
	s.run("pg_ctl", append([]string{"-D", s.data, "-w", "-t", "60"}, args...)...)
}

// Restart starts the server (again, after Stop) and returns when it
// accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	o := fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1", s.sockDir, s.Port)
	if !s.opts.Durable {
		o += " -c fsync=off -c full_page_writes=off"
	}
	s.pgctl("start", "-l", s.logFile, "-o", o)
}

// Stop stops the server at once (immediate mode: no checkpoint, clients
// cut off), as a crashed or unplugged database server would.
func (s *Server) Stop() {
	s.t.Helper()
	s.pgctl("stop", "-m", "immediate")
}

// URL is the DSN of database db.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates an empty database and returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	name := fmt.Sprintf("district_%d", s.dbs.Add(1))
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return s.URL(name)
}
