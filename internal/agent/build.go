package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/agent/audit"
	"github.com/moatsec/moat/internal/agent/convert"
	"github.com/moatsec/moat/internal/agent/snapshot"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/spool"
	"github.com/moatsec/moat/internal/agent/tail"
	"github.com/moatsec/moat/internal/agent/upload"
	"github.com/moatsec/moat/internal/agentconf"
	"github.com/moatsec/moat/tokenclient"
)

// Built is an agent assembled from a Config, with what must be closed.
type Built struct {
	*Agent
	Tokens  *tokenclient.Client
	HTTP    *http.Client
	closers []func() error
}

// Close releases the collectors and the spool.
func (b *Built) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	return errors.Join(errs...)
}

// BuildOptions adjust Build for tools and tests.
type BuildOptions struct {
	Clock  Clock
	Logger *slog.Logger
	// NoAuthLog, NoAudit, NoSnapshots turn collectors off (replay feeds
	// the auth log itself).
	NoAuthLog, NoAudit, NoSnapshots bool
	// Firewall overrides the firewall source (tests and the footprint
	// bench read a file).
	Firewall *firewall.Options
	// HTTPClient overrides the client built from the TLS settings.
	HTTPClient *http.Client
}

// HTTPClient returns a client for the server with the configured TLS.
func (c *Config) HTTPClient() (*http.Client, error) {
	// Session tickets make the reconnection after an idle gap a short
	// handshake instead of a full one (certificate chain and all).
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // only when asked, for tests
		ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("agent: ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("agent: ca %s: no PEM certificate", c.CA)
		}
		tc.RootCAs = pool
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.CertKey)
		if err != nil {
			return nil, fmt.Errorf("agent: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true, MaxIdleConns: 2, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 15 * time.Second, ResponseHeaderTimeout: 60 * time.Second, Proxy: http.ProxyFromEnvironment}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}, nil
}

// Build assembles an agent from a validated Config.
func Build(cfg Config, bo BuildOptions) (_ *Built, err error) {
	if bo.Logger == nil {
		bo.Logger = slog.New(slog.DiscardHandler)
	}
	if bo.Clock == nil {
		bo.Clock = RealClock{}
	}
	b := &Built{}
	defer func() {
		if err != nil {
			_ = b.Close()
		}
	}()
	if err := os.MkdirAll(cfg.State, 0o700); err != nil {
		return nil, fmt.Errorf("agent: state directory: %w", err)
	}
	id, err := AgentID(cfg.State)
	if err != nil {
		return nil, err
	}
	if b.HTTP = bo.HTTPClient; b.HTTP == nil {
		if b.HTTP, err = cfg.HTTPClient(); err != nil {
			return nil, err
		}
	}
	// Tokens follow the real clock: the server checks them against its own.
	b.Tokens, err = tokenclient.New(tokenclient.Config{Server: cfg.Server, Namespace: cfg.Namespace, DeviceID: cfg.Device,
		Key: cfg.Key, HTTPClient: b.HTTP, Firmware: "moat-agent/" + Version})
	if err != nil {
		return nil, err
	}
	// The last configuration fetched from the server, if any, wins over the
	// local settings from the start (its cacheSize sizes the spool).
	remotePath := filepath.Join(cfg.State, "remote-config.json")
	initial := cfg.Settings
	if saved, err := os.ReadFile(remotePath); err == nil {
		if c, err := agentconf.Parse(saved); err == nil {
			initial = c
		} else {
			bo.Logger.Warn("saved remote configuration ignored", "err", err)
		}
	}
	settings := agentconf.Effective(initial, agentconf.Config{})
	sp, err := spool.Open(filepath.Join(cfg.State, "spool"), spool.Options{Capacity: int64(settings.CacheSize), Now: bo.Clock.Now})
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, sp.Close)
	up, err := upload.New(upload.Options{Spool: sp, Sender: b.Tokens, AgentVersion: Version, AgentID: id, MaxMessageSize: settings.MaxMessageSize})
	if err != nil {
		return nil, err
	}
	var src Sources
	fwd := &diagForwarder{}
	if !bo.NoAuthLog && cfg.AuthLog == "" && !exists(cfg.authLogPath()) {
		// Neither /var/log/auth.log nor /var/log/secure: a journald-only
		// system. Logins then come from the audit collector.
		bo.Logger.Warn("no auth log found; logins are taken from the audit system", "tried", "/var/log/auth.log, /var/log/secure")
		bo.NoAuthLog = true
	}
	if !bo.NoAuthLog {
		t, err := tail.Open(tail.Config{Path: cfg.authLogPath(), StateDir: filepath.Join(cfg.State, "authlog"), StartAtEnd: true,
			OnEvent: func(e tail.Event) {
				switch e.Kind {
				case tail.EventGap, tail.EventLineCut, tail.EventBadCheckpoint:
					// Something was lost or cut: the operator must hear of it.
					fwd.send("Warning", "collector/authlog", fmt.Sprintf("auth log %s: %s %s", e.File, e.Kind, e.Detail))
				default:
					bo.Logger.Info("auth log: "+e.Kind.String(), "file", e.File, "detail", e.Detail)
				}
			}})
		if err != nil {
			return nil, fmt.Errorf("agent: auth log: %w", err)
		}
		b.closers = append(b.closers, t.Close)
		src.AuthLog = t
	}
	if !bo.NoAudit && cfg.Audit != "off" {
		mode := audit.SourceMode(cfg.Audit)
		// With the right to install rules, the agent also switches kernel
		// auditing on when it is off (no auditd), and restores it on exit.
		ac, err := audit.Open(audit.Config{Root: cfg.Root, LogPath: cfg.AuditLog, Source: mode, NoRules: !cfg.AuditRules,
			EnableAudit: cfg.AuditRules, RemoveRules: true,
			Report: func(d audit.Diagnostic) {
				sev := "Information"
				switch d.Severity {
				case audit.SeverityWarning:
					sev = "Warning"
				case audit.SeverityError:
					sev = "Error"
				}
				msg := d.String()
				if len(d.Rules) > 0 {
					msg += "; rules: " + strings.Join(d.Rules, " ; ")
				}
				fwd.send(sev, "collector/audit", msg)
			}})
		if err != nil {
			bo.Logger.Warn("audit collector off", "err", err)
		} else {
			b.closers = append(b.closers, ac.Close)
			src.Audit = ac
		}
	}
	if !bo.NoSnapshots {
		so := snapshot.Options{Root: cfg.Root, Now: bo.Clock.Now}
		if bo.Firewall != nil {
			so.Firewall = *bo.Firewall
		}
		src.Snapshots = convert.Snapshots{C: snapshot.New(so)}
	}
	a, err := New(Options{AgentID: id, Spool: sp, Uploader: up, Sources: src, Settings: initial, ConfigPoll: cfg.ConfigPoll,
		SaveRemote: func(c agentconf.Config) error { return writeFileAtomic(remotePath, c) },
		Clock:      bo.Clock, Logger: bo.Logger, Remote: remoteConfig(b.HTTP, b.Tokens, cfg.Server, cfg.Device)})
	if err != nil {
		return nil, err
	}
	fwd.attach(a)
	b.Agent = a
	return b, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeFileAtomic writes v as JSON to path through a temporary file.
func writeFileAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// diagForwarder hands collector notices to the agent as Diagnostic
// events, holding those that come before the agent exists.
type diagForwarder struct {
	mu      sync.Mutex
	a       *Agent
	pending [][3]string
}

func (f *diagForwarder) send(severity, component, msg string) {
	f.mu.Lock()
	a := f.a
	if a == nil {
		f.pending = append(f.pending, [3]string{severity, component, msg})
	}
	f.mu.Unlock()
	if a != nil {
		a.diag(severity, component, msg)
	}
}

func (f *diagForwarder) attach(a *Agent) {
	f.mu.Lock()
	f.a = a
	p := f.pending
	f.pending = nil
	f.mu.Unlock()
	for _, d := range p {
		a.diag(d[0], d[1], d[2])
	}
}

// remoteConfig fetches GET /api/v1/devices/{id}/agent-config with the
// device's token, remembering the last version (ETag) so an unchanged
// configuration costs a 304.
func remoteConfig(hc *http.Client, tc *tokenclient.Client, server, device string) func(ctx context.Context) (agentconf.Config, error) {
	var mu sync.Mutex
	var etag string
	var last agentconf.Config
	u := strings.TrimRight(server, "/") + "/api/v1/devices/" + url.PathEscape(device) + "/agent-config"
	return func(ctx context.Context) (agentconf.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		tok, err := tc.Token(ctx)
		if err != nil {
			return agentconf.Config{}, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return agentconf.Config{}, err
		}
		req.Header.Set("Authorization", tok.Value)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return agentconf.Config{}, err
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusNotModified:
			return last, nil
		case http.StatusOK:
		default:
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			return agentconf.Config{}, fmt.Errorf("agent config: HTTP %d", resp.StatusCode)
		}
		var body struct {
			Version string           `json:"version"`
			Config  agentconf.Config `json:"config"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
			return agentconf.Config{}, fmt.Errorf("agent config: %w", err)
		}
		etag, last = resp.Header.Get("ETag"), body.Config
		return last, nil
	}
}
