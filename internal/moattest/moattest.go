// Package moattest starts real Moat servers for tests: embedded JetStream
// and SQLite in a temporary directory by default, or the machine's NATS and
// PostgreSQL when asked. Nothing is mocked.
package moattest

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/eventlog/natstest"
	"github.com/moatsec/moat/internal/server"
	"github.com/moatsec/moat/internal/store/pgtest"
	"github.com/moatsec/moat/internal/tlsutil"
	"github.com/moatsec/moat/sas"
)

// Options tweaks the server a test starts.
type Options struct {
	Data   string           // data directory to reuse (restart tests); "" = a fresh t.TempDir()
	TLS    bool             // serve HTTPS with the generated self-signed certificate
	Clock  func() time.Time // injectable clock
	Config func(*config.Server)
	// External uses the machine's NATS (MOAT_TEST_NATS) with a fresh prefix and
	// PostgreSQL (MOAT_TEST_POSTGRES) with a fresh schema instead of the
	// embedded defaults; both are removed when the test ends.
	External bool

	natsURL, natsPrefix, dbURL string // chosen on the first start of an external server
}

// Backends lists the backend combinations a behaviour test should cover.
var Backends = []struct {
	Name     string
	External bool
}{{"embedded", false}, {"external", true}}

// Server is a started server with a root client.
type Server struct {
	*server.Server
	Data   string
	Root   sas.ConnectionString
	Client *client.Client
	opts   Options
}

// testMasterKey keeps key generation out of every test.
var testMasterKey = base64.StdEncoding.EncodeToString([]byte("moattest-master-key-32-bytes-ok!"))

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Data == "" {
		o.Data = t.TempDir()
	}
	cfg := config.Defaults()
	cfg.Data = o.Data
	cfg.Listen = "127.0.0.1:0"
	cfg.NoTLS = !o.TLS
	cfg.Drain = 5 * time.Second
	if o.External {
		if o.natsPrefix == "" { // the first start; a restart keeps them
			o.natsURL, o.natsPrefix = natstest.URL(t), natstest.Prefix()
			natstest.Cleanup(t, o.natsURL, o.natsPrefix)
			o.dbURL = pgtest.NewSchema(t)
		}
		cfg.NATS, cfg.NATSPrefix, cfg.DB = o.natsURL, o.natsPrefix, o.dbURL
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	srv, err := server.Start(context.Background(), cfg, server.Options{Clock: o.Clock, MasterKey: testMasterKey})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	s := &Server{Server: srv, Data: o.Data, opts: o}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	b, err := os.ReadFile(filepath.Join(o.Data, server.RootConnectionStringFile))
	if err != nil {
		t.Fatalf("root connection string: %v", err)
	}
	if s.Root, err = sas.ParseConnectionString(strings.TrimSpace(string(b))); err != nil {
		t.Fatalf("root connection string: %v", err)
	}
	s.Client = s.NewClient(t, s.Root)
	return s
}

// NewClient returns a client authenticating with cs (trusting the server's
// self-signed certificate when it serves TLS).
func (s *Server) NewClient(t testing.TB, cs sas.ConnectionString) *client.Client {
	t.Helper()
	o := client.Options{Server: s.URL(), Tokens: client.NewTokens(cs, time.Hour)}
	if s.opts.TLS {
		cfg, err := tlsutil.ClientConfig(filepath.Join(s.Data, server.CertFile), false)
		if err != nil {
			t.Fatal(err)
		}
		o.TLS = cfg
	}
	c, err := client.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Restart stops the server and starts a new one on the same data directory.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
	o := s.opts
	o.Data = s.Data
	return Start(t, o)
}

// Peer starts a second node of an External server's deployment: its own
// data directory and listener, the same NATS prefix and database.
func (s *Server) Peer(t testing.TB) *Server {
	t.Helper()
	if !s.opts.External {
		t.Fatal("moattest: Peer needs an External server (shared NATS and database)")
	}
	o := s.opts
	o.Data = t.TempDir()
	return Start(t, o)
}

// Env returns the value of an environment variable or def.
func Env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
