package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a real NATS server with JetStream on a loopback port, which a
// test can stop and start again (same port, same store) to simulate an outage.
type Server struct {
	tb   testing.TB
	port int
	dir  string
	ns   *server.Server
}

// StartServer starts a NATS server with JetStream for one test; it is shut
// down when the test ends.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, port: -1, dir: tb.TempDir()}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Start (re)starts the server on its port with its store.
func (s *Server) Start() {
	s.tb.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir, NoSigs: true})
	if err != nil {
		s.tb.Fatalf("natstest: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		s.tb.Fatal("natstest: server not ready")
	}
	s.ns = ns
	s.port = ns.Addr().(*net.TCPAddr).Port
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		s.ns = nil
	}
}
