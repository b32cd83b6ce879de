package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/discovery"
	"github.com/moatsec/moat/internal/discovery/discoveryapi"
	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/secfeed"
	"github.com/moatsec/moat/internal/store"
)

// registry adapts the device registry to the token service, with a cache:
// a token request then costs no database query, no policy decoding and no
// key unsealing. Every change made through this node's registry drops the
// device from the cache synchronously (so quarantine, disable and key
// rotation act at once), and every node drops it when the change's NATS
// notification arrives (see shareDeviceChanges). Entries also expire after
// cacheTTL, which bounds how stale a change made on another node can be if
// its notification was lost (this node was cut off from NATS at the time);
// a publisher revocation is checked separately and is immediate everywhere.
type registry struct {
	svc *device.Service
	now func() time.Time

	mu      sync.Mutex
	gen     uint64 // bumped by every change; a lookup older than a change is not cached
	byID    map[string]cachedDevice
	byThumb map[string]cachedDevice
	thumbOf map[string]string // device id → its key in byThumb
}

type cachedDevice struct {
	d       discovery.Device
	expires time.Time
}

const (
	cacheTTL     = 2 * time.Minute
	cacheMaxSize = 200_000
)

var _ discovery.Registry = (*registry)(nil)

func newRegistry(svc *device.Service, now func() time.Time) *registry {
	if now == nil {
		now = time.Now
	}
	r := &registry{svc: svc, now: now, byID: map[string]cachedDevice{}, byThumb: map[string]cachedDevice{}, thumbOf: map[string]string{}}
	svc.OnChange(r.forget)
	return r
}

func (r *registry) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	delete(r.byID, id)
	if t, ok := r.thumbOf[id]; ok {
		delete(r.byThumb, t)
		delete(r.thumbOf, id)
	}
}

// deviceChangesTopic carries the id of every changed device to all nodes.
const deviceChangesTopic = "device-changes"

// shareDeviceChanges makes a device change on any node drop the device
// from every node's token-service cache: changes made here are published,
// and published changes (from here or elsewhere) are forgotten.
func (s *Server) shareDeviceChanges(r *registry) error {
	if _, err := s.log.OnNotify(deviceChangesTopic, func(id []byte) { r.forget(string(id)) }); err != nil {
		return fmt.Errorf("server: subscribe to device changes: %w", err)
	}
	s.devices.OnChange(func(id string) {
		if err := s.log.Notify(deviceChangesTopic, []byte(id)); err != nil {
			s.logger.Warn("device change not shared with other nodes; their caches expire it", "device", id, "err", err)
		}
	})
	return nil
}

func (r *registry) cached(m map[string]cachedDevice, key string) (discovery.Device, uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := m[key]
	if ok && r.now().Before(c.expires) {
		return c.d, r.gen, true
	}
	return discovery.Device{}, r.gen, false
}

// keep caches d under key in byID or, with thumb, in byThumb.
func (r *registry) keep(thumb bool, key string, d discovery.Device, gen uint64) {
	m := r.byID
	if thumb {
		m = r.byThumb
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen != gen {
		return // the device may have changed while it was being read
	}
	if len(m) >= cacheMaxSize {
		clear(m)
		if thumb {
			clear(r.thumbOf)
		}
	}
	m[key] = cachedDevice{d: d, expires: r.now().Add(cacheTTL)}
	if thumb {
		r.thumbOf[d.ID] = key
	}
}

func (r *registry) Lookup(ctx context.Context, id string) (discovery.Device, error) {
	d, gen, ok := r.cached(r.byID, id)
	if ok {
		return d, nil
	}
	d, err := convert(r.svc.Lookup(ctx, id))
	if err == nil {
		r.keep(false, id, d, gen)
	}
	return d, err
}

func (r *registry) LookupByThumbprint(ctx context.Context, t string) (discovery.Device, error) {
	t = strings.ToLower(t)
	d, gen, ok := r.cached(r.byThumb, t)
	if ok {
		return d, nil
	}
	d, err := convert(r.svc.LookupByThumbprint(ctx, t))
	if err == nil {
		r.keep(true, t, d, gen)
	}
	return d, err
}

func (r *registry) SetStatus(ctx context.Context, id, status, reason string) error {
	return r.svc.SetStatus(ctx, id, status, reason)
}

func convert(d device.Device, err error) (discovery.Device, error) {
	if errors.Is(err, store.ErrNotFound) {
		return discovery.Device{}, discovery.ErrUnknownDevice
	} else if err != nil {
		return discovery.Device{}, err
	}
	p := d.Policy
	return discovery.Device{
		ID: d.ID, Hub: d.Hub, Status: d.Status, PrimaryKey: d.PrimaryKey, SecondaryKey: d.SecondaryKey,
		CertThumbprint: d.CertThumbprint, CreatedAt: d.CreatedAt,
		AllowedNetworks: p.Networks(), Geofence: p.Geofence, MaxSilence: time.Duration(p.MaxSilence),
		Maintenance: p.Maintenance, MaintenanceMode: p.MaintenanceMode, TokenTTL: time.Duration(p.TokenTTL),
	}, nil
}

// auditLog adapts the journal auditor to the API's query interface.
type auditLog struct{ a *discovery.JournalAuditor }

func (l auditLog) Query(r *http.Request, dev, result string, since time.Time, limit int) ([]discovery.Decision, error) {
	ds, err := l.a.Query(r.Context(), dev, result, since, limit)
	if err != nil {
		return nil, hub.LogError(err)
	}
	return ds, nil
}

// discoveryRoutes builds the token service and its endpoints. The listener
// must exist: the token endpoint URL defaults to the namespace and its port.
func (s *Server) discoveryRoutes(ctx context.Context, clock func() time.Time, manage discoveryapi.Authorizer) ([]httpapi.Route, error) {
	auditor, err := discovery.NewJournalAuditor(ctx, s.log)
	if err != nil {
		return nil, fmt.Errorf("server: discovery audit journal: %w", err)
	}
	proxies, err := s.cfg.TrustedProxies()
	if err != nil {
		return nil, err
	}
	s.feed = secfeed.New("discovery feed", 10_000, s.decisionsToSecurity, s.logger)
	reg := newRegistry(s.devices, clock)
	if err := s.shareDeviceChanges(reg); err != nil {
		return nil, err
	}
	svc, err := discovery.New(discovery.Options{
		Namespace: s.cfg.Namespace, Endpoint: s.publicURL(), Registry: reg, Hub: s.core,
		Auditor: auditor, Feed: s.feed, Logger: s.logger.With("component", "discovery"), Clock: clock, ClockSkew: s.cfg.ClockSkew,
		MaxTTL: s.cfg.TokenMaxTTL, RatePerMinute: s.cfg.TokenRate, Burst: s.cfg.TokenBurst,
	})
	if err != nil {
		return nil, err
	}
	return discoveryapi.New(svc, auditLog{auditor}, manage, proxies, clock).Routes(s.logger), nil
}

// publicURL is where devices reach this server: publicURL, else
// scheme://NAMESPACE:PORT.
func (s *Server) publicURL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	port := s.ln.Addr().(*net.TCPAddr).Port
	return fmt.Sprintf("%s://%s", s.scheme, net.JoinHostPort(s.cfg.Namespace, strconv.Itoa(port)))
}

// decisionsToSecurity appends token decisions to the security stream, each
// filed under its device's hub with source "discovery".
func (s *Server) decisionsToSecurity(ctx context.Context, ds []discovery.Decision) error {
	return appendSecurity(ctx, s.log, ds, func(d discovery.Decision) eventlog.SecurityRecord {
		return eventlog.SecurityRecord{Hub: d.Hub, Source: SourceDiscovery, Device: d.DeviceID, ID: d.ID}
	})
}

// appendSecurity files values in the security stream as JSON records,
// placed by rec (whose Data it fills).
func appendSecurity[T any](ctx context.Context, l *eventlog.Log, vs []T, rec func(T) eventlog.SecurityRecord) error {
	recs := make([]eventlog.SecurityRecord, 0, len(vs))
	for _, v := range vs {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		r := rec(v)
		r.Data = data
		recs = append(recs, r)
	}
	_, err := l.AppendSecurity(ctx, recs)
	return err
}

// SourceDiscovery files token decisions in the security stream.
const SourceDiscovery = "discovery"

// authFailuresToSecurity appends authorization failures to the security
// stream, filed under their hub with source "hub".
func (s *Server) authFailuresToSecurity(ctx context.Context, fs []hub.AuthFailure) error {
	return appendSecurity(ctx, s.log, fs, func(f hub.AuthFailure) eventlog.SecurityRecord {
		return eventlog.SecurityRecord{Hub: f.Hub, Source: hub.SourceHub, Device: f.Publisher, ID: f.ID}
	})
}

// reportAuthFailure gives a refusal an id and queues it for the security
// stream (never blocking the request).
func (s *Server) reportAuthFailure(f hub.AuthFailure) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	f.ID = hex.EncodeToString(b[:])
	s.authFeed.Publish(f)
}
