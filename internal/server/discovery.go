package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/discovery"
	"github.com/moatsec/moat/internal/discovery/discoveryapi"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/store"
)

// registry adapts the device registry to what the token service needs.
type registry struct{ svc *device.Service }

var _ discovery.Registry = registry{}

func (r registry) Lookup(ctx context.Context, id string) (discovery.Device, error) {
	return convert(r.svc.Lookup(ctx, id))
}

func (r registry) LookupByThumbprint(ctx context.Context, t string) (discovery.Device, error) {
	return convert(r.svc.LookupByThumbprint(ctx, t))
}

func (r registry) SetStatus(ctx context.Context, id, status, reason string) error {
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
	svc, err := discovery.New(discovery.Options{
		Namespace: s.cfg.Namespace, Endpoint: s.publicURL(), Registry: registry{s.devices}, Hub: s.core,
		Auditor: auditor, Logger: s.logger.With("component", "discovery"), Clock: clock, ClockSkew: s.cfg.ClockSkew,
		MaxTTL: s.cfg.TokenMaxTTL, RatePerMinute: s.cfg.TokenRate, Burst: s.cfg.TokenBurst,
	})
	if err != nil {
		return nil, err
	}
	api := discoveryapi.New(svc, auditLog{auditor}, manage, proxies, clock)
	var routes []httpapi.Route
	for pattern, h := range api.Handlers() {
		routes = append(routes, httpapi.Route{Pattern: pattern, Handler: h})
	}
	return routes, nil
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
