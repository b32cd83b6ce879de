package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/sas"
)

// Options configures a Service.
type Options struct {
	Namespace string // host device proofs and issued tokens are scoped to
	Endpoint  string // public base URL of the hub, e.g. https://moat.example.com:8443
	Registry  Registry
	Hub       Hub
	Auditor   Auditor // nil = decisions are only logged
	// Feed, if set, receives every recorded decision about a known device
	// (with its hub), for the hub's security stream.
	Feed   interface{ Publish(Decision) }
	Logger *slog.Logger
	Clock  func() time.Time

	// ClockSkew is allowed on proof expiry (default sas.DefaultSkew).
	ClockSkew time.Duration
	// MaxProofLifetime is how far ahead a proof's expiry may be (default 5m):
	// a proof is a one-time, short-lived statement, not a long-lived token.
	MaxProofLifetime time.Duration
	// DefaultTTL is the token lifetime when the device's policy sets none
	// (default 5m); MaxTTL caps every lifetime (default 1h).
	DefaultTTL, MaxTTL time.Duration
	// RatePerMinute and Burst bound token requests per device (default 10 and 10).
	RatePerMinute, Burst int
}

// Service issues publisher tokens. It is safe for concurrent use.
type Service struct {
	o       Options
	replays *replayCache
	limits  *limiter
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Registry == nil || o.Hub == nil || o.Namespace == "" {
		return nil, errors.New("discovery: Namespace, Registry and Hub are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.ClockSkew == 0 {
		o.ClockSkew = sas.DefaultSkew
	}
	if o.MaxProofLifetime <= 0 {
		o.MaxProofLifetime = 5 * time.Minute
	}
	if o.DefaultTTL <= 0 {
		o.DefaultTTL = 5 * time.Minute
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = time.Hour
	}
	if o.RatePerMinute <= 0 {
		o.RatePerMinute = 10
	}
	if o.Burst <= 0 {
		o.Burst = 10
	}
	o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	return &Service{o: o, replays: newReplayCache(), limits: newLimiter(o.RatePerMinute, o.Burst)}, nil
}

// Issue evaluates a token request and issues a token or refuses it with a
// typed *apierr.Error whose reason is one of the Code* constants. The
// decision is recorded whatever the outcome.
//
// Order of checks (the first failing one answers):
//  1. proof: a certificate thumbprint or a device SAS; malformed, unknown
//     key or wrong signature → 401 bad_proof; expired → 401 expired_proof;
//     expiring more than MaxProofLifetime ahead or already used → 401 bad_proof;
//     an unknown device → 404 unknown_device;
//  2. rate: more than RatePerMinute (burst Burst) → 429 rate_limited;
//  3. status: disabled → 403 device_disabled; quarantined → 403 quarantined;
//  4. the hub's revocation of the publisher → 403 publisher_revoked;
//  5. allowedNetworks → 403 network_not_allowed;
//  6. geofence: no location → 403 location_required; outside → 403 outside_geofence;
//  7. silence: status needs_maintenance, or no accepted event for longer than
//     maxSilence (a device never seen counts from its registration), outside
//     any maintenance window and without maintenanceMode → the device is
//     marked needs_maintenance and refused with 403 needs_maintenance.
func (s *Service) Issue(ctx context.Context, req Request) (Grant, error) {
	start := s.o.Clock()
	d := Decision{ID: newDecisionID(), Time: start.UTC(), Source: req.Source.String(), Location: req.Location, Firmware: req.Firmware, Metadata: req.Metadata, Proof: "sas"}
	if req.Authorization == "" && req.Thumbprint != "" {
		d.Proof = "certificate"
	}
	g, dev, err := s.issue(ctx, req, start)
	d.DeviceID, d.Hub = dev.ID, dev.Hub
	if err != nil {
		e := apierr.As(err)
		d.Result, d.Message = e.Reason, e.Message
	} else {
		d.Result = ResultIssued
		d.ExpiresAt = &g.ExpiresAt
	}
	d.DurationMS = float64(s.o.Clock().Sub(start).Microseconds()) / 1000
	if aerr := s.record(ctx, d); aerr != nil && err == nil {
		// An issuance that cannot be audited does not happen.
		return Grant{}, apierr.Unavailable(aerr, time.Second, CodeServiceUnavailable, "the decision could not be recorded; retry")
	}
	return g, err
}

func (s *Service) record(ctx context.Context, d Decision) error {
	s.o.Logger.Debug("token decision", "device", d.DeviceID, "result", d.Result, "source", d.Source)
	if s.o.Auditor != nil {
		if err := s.o.Auditor.Record(ctx, d); err != nil {
			s.o.Logger.Error("record token decision", "device", d.DeviceID, "result", d.Result, "err", err)
			return err
		}
	}
	if s.o.Feed != nil && d.Hub != "" {
		s.o.Feed.Publish(d)
	}
	return nil
}

// newDecisionID returns 128 random bits in hex.
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Service) issue(ctx context.Context, req Request, now time.Time) (Grant, Device, error) {
	dev, err := s.authenticate(ctx, req, now)
	if err != nil {
		return Grant{}, dev, err
	}
	if wait, ok := s.limits.allow(dev.ID, now); !ok {
		return Grant{}, dev, rateLimited(wait)
	}
	if err := s.check(ctx, req, dev, now); err != nil {
		return Grant{}, dev, err
	}
	g, err := s.grant(ctx, dev, now)
	return g, dev, err
}

func (s *Service) check(ctx context.Context, req Request, dev Device, now time.Time) error {
	switch dev.Status {
	case store.DeviceDisabled:
		return forbidden(CodeDeviceDisabled, "device %q is disabled", dev.ID)
	case store.DeviceQuarantined:
		return forbidden(CodeQuarantined, "device %q is quarantined", dev.ID)
	}
	if s.o.Hub.IsRevoked(dev.Hub, dev.ID) {
		return forbidden(CodePublisherRevoked, "the publisher of device %q is revoked", dev.ID)
	}
	if len(dev.AllowedNetworks) > 0 && !inNetworks(req.Source, dev.AllowedNetworks) {
		return forbidden(CodeNetworkNotAllowed, "requests for device %q must come from its allowed networks", dev.ID)
	}
	if dev.Geofence != nil {
		if req.Location == nil {
			return forbidden(CodeLocationRequired, "device %q has a geofence: report a location", dev.ID)
		}
		if !dev.Geofence.Contains(*req.Location) {
			return forbidden(CodeOutsideGeofence, "device %q is outside its geofence", dev.ID)
		}
	}
	return s.checkSilence(ctx, dev, now)
}

// inNetworks reports whether src lies in one of nets (IPv4-mapped IPv6
// addresses count as IPv4).
func inNetworks(src netip.Addr, nets []netip.Prefix) bool {
	a := src.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Service) checkSilence(ctx context.Context, dev Device, now time.Time) error {
	inMaintenance := dev.MaintenanceMode || dev.Maintenance.Active(now)
	if inMaintenance {
		return nil
	}
	if dev.Status == store.DeviceNeedsMaintenance {
		return forbidden(CodeNeedsMaintenance, "device %q needs maintenance", dev.ID)
	}
	if dev.MaxSilence <= 0 {
		return nil
	}
	last, seen, err := s.o.Hub.LastSeen(ctx, dev.Hub, dev.ID)
	if err != nil {
		return err
	}
	if !seen {
		last = dev.CreatedAt // grace: a new device has maxSilence from registration
	}
	if silent := now.Sub(last); silent > dev.MaxSilence {
		reason := fmt.Sprintf("silent for %s (maxSilence %s)", silent.Round(time.Second), dev.MaxSilence)
		if err := s.o.Registry.SetStatus(ctx, dev.ID, store.DeviceNeedsMaintenance, reason); err != nil {
			return err
		}
		return forbidden(CodeNeedsMaintenance, "device %q is %s and not in maintenance", dev.ID, reason)
	}
	return nil
}

func (s *Service) grant(ctx context.Context, dev Device, now time.Time) (Grant, error) {
	ttl := dev.TokenTTL
	if ttl <= 0 {
		ttl = s.o.DefaultTTL
	}
	ttl = min(ttl, s.o.MaxTTL)
	name, key, err := s.o.Hub.SigningKey(ctx, dev.Hub)
	if err != nil {
		return Grant{}, err
	}
	path := "/" + dev.Hub + "/publishers/" + dev.ID
	exp := now.Add(ttl).Truncate(time.Second)
	return Grant{
		Token:     sas.Sign("sb://"+s.o.Namespace+path, name, key, exp),
		ExpiresAt: exp.UTC(),
		Hub:       dev.Hub,
		Publisher: dev.ID,
		Endpoint:  s.o.Endpoint + path + "/messages",
	}, nil
}
