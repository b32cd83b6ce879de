// Package server assembles a running Moat node from its configuration: data
// directory, master key, metadata store, event log, hub core, TLS and the
// HTTP listener. cmd/moat's serve command and the tests and benchmarks that
// need a real server all start one through Start.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/device/deviceapi"
	"github.com/moatsec/moat/internal/discovery"
	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/secfeed"
	"github.com/moatsec/moat/internal/secret"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/internal/store/stores"
	"github.com/moatsec/moat/internal/tlsutil"
	"github.com/moatsec/moat/sas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Files under the data directory.
const (
	RootConnectionStringFile = "root-connection-string"
	MasterKeyFile            = "master.key"
	CertFile                 = "tls/cert.pem"
	KeyFile                  = "tls/key.pem"
)

// Server is a running Moat node.
type Server struct {
	cfg      config.Server
	logger   *slog.Logger
	store    store.Store
	log      *eventlog.Log
	core     *hub.Core
	devices  *device.Service
	box      *secret.Box
	center   *centerParts                      // nil when the center does not run here
	feed     *secfeed.Feed[discovery.Decision] // token decisions → security stream
	authFeed *secfeed.Feed[hub.AuthFailure]    // authorization failures → security stream
	http     *http.Server
	ln       net.Listener
	ready    atomic.Bool
	serveErr chan error
	scheme   string
}

// Options are the parts of a node that are not configuration.
type Options struct {
	Logger    *slog.Logger     // nil = discard
	Clock     func() time.Time // nil = time.Now
	MasterKey string           // base64 master key; "" = DATA/master.key (created on first start)
}

// Start brings a node up and returns once it is serving. Close stops it.
func Start(ctx context.Context, cfg config.Server, o Options) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, logger: logger, serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.closeBackends()
		}
	}()
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	mk, created, err := secret.LoadMasterKey(o.MasterKey, filepath.Join(cfg.Data, MasterKeyFile))
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("created master key", "file", filepath.Join(cfg.Data, MasterKeyFile))
	}
	box, err := secret.New(mk)
	if err != nil {
		return nil, err
	}
	s.box = box
	if s.store, err = stores.Open(ctx, cfg.DB, cfg.Data); err != nil {
		return nil, fmt.Errorf("server: metadata store: %w", err)
	}
	if s.log, err = eventlog.Open(ctx, eventlog.Config{DataDir: cfg.Data, // JetStream keeps its files in DATA/jetstream
		URL: cfg.NATS, Prefix: cfg.NATSPrefix,
		SyncAlways: cfg.SyncAlways, Logger: logger.With("component", "nats")}); err != nil {
		return nil, fmt.Errorf("server: event log: %w", err)
	}
	if err := s.log.EnsureSecurity(ctx, cfg.SecurityRetention); err != nil {
		return nil, fmt.Errorf("server: security stream: %w", err)
	}
	revs, err := s.log.KV(ctx, "revocations")
	if err != nil {
		return nil, fmt.Errorf("server: revocations bucket: %w", err)
	}
	state, err := s.log.KV(ctx, "state")
	if err != nil {
		return nil, fmt.Errorf("server: state bucket: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.core, err = hub.New(ctx, hub.Options{Namespace: cfg.Namespace, Store: s.store, Log: s.log, Revocations: revs,
		State: state, Box: box, Clock: o.Clock, ClockSkew: cfg.ClockSkew, Logger: logger, Registerer: reg,
		LastSeen: s.store, SecurityParser: hub.ParseAgentMessage}); err != nil {
		return nil, err
	}
	if err := s.writeRootConnectionString(ctx); err != nil {
		return nil, err
	}
	if s.devices, err = device.New(device.Options{Store: s.store, Publishers: s.core, Box: box, Logger: logger}); err != nil {
		return nil, err
	}
	manage := func(r *http.Request) error {
		_, err := s.core.Authorize(r.Header.Get("Authorization"), "/", hub.Manage)
		return err
	}
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	s.scheme = "http"
	if tlsCfg != nil {
		s.scheme = "https"
		s.ln = tls.NewListener(s.ln, tlsCfg)
	}
	discoRoutes, err := s.discoveryRoutes(ctx, o.Clock, manage)
	if err != nil {
		return nil, err
	}
	centerRoutes, err := s.startCenter(ctx, o.Clock, manage, reg)
	if err != nil {
		return nil, err
	}
	s.authFeed = secfeed.New("authorization failure feed", 10_000, s.authFailuresToSecurity, logger)
	api, err := httpapi.New(s.core, httpapi.Options{MaxBody: cfg.MaxBody, ReadMaxWait: cfg.ReadMaxWait, Logger: logger,
		AuthFailures: s.reportAuthFailure,
		Registerer:   reg, Gatherer: reg, Ready: s.ready.Load,
		Extra: slices.Concat(deviceapi.Routes(s.devices, manage, s.authorizeDevice, s.recordDeviceAction, logger), discoRoutes, centerRoutes)})
	if err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsCfg,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	go func() { s.serveErr <- s.http.Serve(s.ln) }()
	s.ready.Store(true)
	logger.Info("moat serving", "addr", s.ln.Addr().String(), "scheme", s.scheme, "namespace", cfg.Namespace,
		"db", stores.Redact(cfg.DB), "nats", cfg.NATS, "data", cfg.Data)
	return s, nil
}

func (s *Server) tlsConfig() (*tls.Config, error) {
	if s.cfg.NoTLS {
		s.logger.Warn("TLS is off (--no-tls): tokens and data cross the network in clear text")
		return nil, nil
	}
	cert, key := s.cfg.TLSCert, s.cfg.TLSKey
	if cert == "" {
		cert, key = filepath.Join(s.cfg.Data, CertFile), filepath.Join(s.cfg.Data, KeyFile)
		created, err := tlsutil.EnsureSelfSigned(cert, key, []string{"localhost", "127.0.0.1", "::1", s.cfg.Namespace}, time.Now())
		if err != nil {
			return nil, err
		}
		if created {
			s.logger.Info("generated self-signed TLS certificate", "cert", cert)
		}
	}
	cfg, err := tlsutil.ServerConfig(cert, key)
	if err != nil {
		return nil, err
	}
	// Devices may prove who they are with a client certificate on the same
	// listener. It is requested, not required, and not chain-verified: the
	// discovery service pins each device to its registered SHA-256 thumbprint.
	cfg.ClientAuth = tls.RequestClientCert
	return cfg, nil
}

// writeRootConnectionString makes sure the root rule exists and writes its
// connection string to DATA/root-connection-string (0600). The key is never logged.
func (s *Server) writeRootConnectionString(ctx context.Context) error {
	rk, created, err := s.core.EnsureRootRule(ctx)
	if err != nil {
		return err
	}
	if rk.PrimaryKey == "" {
		return nil // the operator removed the root rule
	}
	cs := sas.ConnectionString{Endpoint: "sb://" + s.cfg.Namespace + "/", SharedAccessKeyName: rk.Name, SharedAccessKey: rk.PrimaryKey}
	path := filepath.Join(s.cfg.Data, RootConnectionStringFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cs.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("server: write root connection string: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("server: write root connection string: %w", err)
	}
	if created {
		s.logger.Info("created namespace rule "+hub.RootRuleName, "connectionStringFile", path)
	}
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the base URL of the server, e.g. https://127.0.0.1:8443.
func (s *Server) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	host := "localhost"
	if !addr.IP.IsUnspecified() && !addr.IP.IsLoopback() {
		host = addr.IP.String()
	}
	return fmt.Sprintf("%s://%s", s.scheme, net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// Core returns the hub core (for in-process tests and tools).
func (s *Server) Core() *hub.Core { return s.core }

// EventLog is the node's durable log (benchmarks and tests).
func (s *Server) EventLog() *eventlog.Log { return s.log }

// Store is the node's metadata store (benchmarks and tests).
func (s *Server) Store() store.Store { return s.store }

// Devices returns the device registry.
func (s *Server) Devices() *device.Service { return s.devices }

// authorizeDevice accepts a token that may send as publisher id of hub h:
// the publisher token a device got from discovery.
// recordDeviceAction records a quarantine or release made through the
// device API as a response action, its actor the shared access rule of the
// request ("rule:NAME", "rule:HUB/NAME"). The change already took effect:
// a failure to record it is logged.
func (s *Server) recordDeviceAction(r *http.Request, action, id, reason string) {
	actor := "rule:?"
	if p, err := s.core.Authorize(r.Header.Get("Authorization"), "/", hub.Manage); err == nil {
		actor = "rule:" + p.RuleName
		if p.RuleHub != "" {
			actor = "rule:" + p.RuleHub + "/" + p.RuleName
		}
	}
	// Recorded even when the client has gone: the change was made.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if _, err := s.store.AddResponseAction(ctx, store.ResponseAction{Device: id, Action: action, Actor: actor, Reason: reason}); err != nil {
		s.logger.Error("device action not recorded", "action", action, "device", id, "err", err)
	}
}

func (s *Server) authorizeDevice(r *http.Request, h, id string) error {
	if _, err := s.core.Authorize(r.Header.Get("Authorization"), "/"+h+"/publishers/"+id, hub.Send); err != nil {
		return err
	}
	return s.core.CheckPublisher(h, id) // a revoked (quarantined, disabled) device reads nothing
}

// Done is closed with the serve error when the listener fails.
func (s *Server) Done() <-chan error { return s.serveErr }

// Close drains in-flight requests (up to the shutdown timeout), then stops
// the hub, the log and the store. Events acknowledged before Close are durable.
func (s *Server) Close(ctx context.Context) error {
	s.ready.Store(false)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Drain)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.logger.Warn("shutdown timeout: closing remaining connections")
		err = s.http.Close()
	}
	return errors.Join(err, s.closeBackends())
}

func (s *Server) closeBackends() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.stopCenter(ctx)
	if s.feed != nil {
		s.feed.Close(ctx)
	}
	if s.authFeed != nil {
		s.authFeed.Close(ctx)
	}
	if s.core != nil {
		s.core.Close()
	}
	if s.log != nil {
		errs = append(errs, s.log.Close())
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	return errors.Join(errs...)
}
