package device

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/secret"
	"github.com/moatsec/moat/internal/store"
)

// Store is the part of the metadata store the registry uses.
type Store interface {
	store.DeviceStore
	store.SettingStore
	GetHub(ctx context.Context, name string) (store.Hub, error)
	ListHubs(ctx context.Context) ([]store.Hub, error)
}

// Publishers is the part of the hub the registry drives: a device's
// publisher is revoked in its hub while the device is quarantined or
// disabled. *hub.Core implements it.
type Publishers interface {
	Revoke(ctx context.Context, hub, publisher string) (hub.RevokedPublisher, error)
	Restore(ctx context.Context, hub, publisher string) error
	IsRevoked(hub, publisher string) bool
}

// Options configures a Service.
type Options struct {
	Store      Store
	Publishers Publishers
	Box        *secret.Box // seals device keys at rest
	// MaxTokenTTL is the longest token lifetime a policy may ask for
	// (default 1h).
	MaxTokenTTL time.Duration
	Logger      *slog.Logger // nil = discard
}

// Service is the device registry. It is safe for concurrent use.
type Service struct {
	store  Store
	pubs   Publishers
	box    *secret.Box
	maxTTL time.Duration
	logger *slog.Logger

	mu       sync.Mutex
	onChange []func(id string)
}

// OnChange registers fn to be called, synchronously, after every change to
// a device (put, delete, status, keys, import), for caches such as the
// token service's.
func (s *Service) OnChange(fn func(id string)) {
	s.mu.Lock()
	s.onChange = append(s.onChange, fn)
	s.mu.Unlock()
}

func (s *Service) changed(id string) {
	s.mu.Lock()
	fns := s.onChange
	s.mu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Publishers == nil || o.Box == nil {
		return nil, errors.New("device: Store, Publishers and Box are required")
	}
	if o.MaxTokenTTL <= 0 {
		o.MaxTokenTTL = DefaultMaxTokenTTL
	}
	if o.MaxTokenTTL < MinTokenTTL {
		return nil, fmt.Errorf("device: MaxTokenTTL %s is below the minimum token lifetime %s", o.MaxTokenTTL, MinTokenTTL)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: o.Store, pubs: o.Publishers, box: o.Box, maxTTL: o.MaxTokenTTL, logger: o.Logger}, nil
}

// Put creates or replaces the device id; created reports whether it is new.
// d.ID may be empty or name the same device; d's timestamps are ignored.
//
// On replace, what d leaves out of three fields is kept: an empty Status
// keeps the device's status (a new device is enabled), an empty
// StatusReason with an unchanged status keeps the reason, and empty keys
// keep the device's keys. Missing keys are generated (256-bit random),
// except for a device with a certificate thumbprint and no key at all,
// which authenticates with its certificate only. Everything else is
// replaced as given.
//
// Quarantining or disabling a device revokes its publisher before the
// device is written; releasing or enabling it (or moving it to another hub)
// restores the publisher afterwards. The device is returned with its keys.
func (s *Service) Put(ctx context.Context, id string, d Device) (Device, bool, error) {
	dr, err := s.check(id, d)
	if err != nil {
		return Device{}, false, err
	}
	old, err := s.existing(ctx, dr.id)
	if err != nil {
		return Device{}, false, err
	}
	if _, err := s.store.GetHub(ctx, dr.hub); err != nil {
		return Device{}, false, hubErr(err, dr.hub)
	}
	if err := s.thumbprintFree(ctx, dr); err != nil {
		return Device{}, false, err
	}
	sd, err := s.build(dr, old)
	if err != nil {
		return Device{}, false, err
	}
	if err := s.block(ctx, old, sd); err != nil {
		return Device{}, false, err
	}
	created, err := s.store.PutDevice(ctx, sd)
	if err != nil {
		return Device{}, false, writeErr(err, sd)
	}
	s.changed(sd.ID)
	if err := s.unblock(ctx, old, sd); err != nil {
		return Device{}, false, err
	}
	v, err := s.Get(ctx, dr.id)
	return v, created, err
}

// thumbprintFree refuses a thumbprint another device holds before anything
// is changed; the store's uniqueness check catches a race.
func (s *Service) thumbprintFree(ctx context.Context, dr draft) error {
	if dr.thumbprint == "" {
		return nil
	}
	holder, err := s.store.GetDeviceByThumbprint(ctx, dr.thumbprint)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && holder.ID == dr.id:
		return nil
	case err != nil:
		return hub.StoreError(err)
	}
	return apierr.Conflict("thumbprint_in_use", "certificate thumbprint %s is registered to device %q", dr.thumbprint, holder.ID)
}

// existing returns the stored device id, or nil when there is none.
func (s *Service) existing(ctx context.Context, id string) (*store.Device, error) {
	d, err := s.store.GetDevice(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, hub.StoreError(err)
	}
	return &d, nil
}

// build turns a validated draft into the stored device, merging what the
// draft leaves to the existing device old (nil for a new one).
func (s *Service) build(dr draft, old *store.Device) (store.Device, error) {
	sd := store.Device{ID: dr.id, Hub: dr.hub, Status: dr.status, StatusReason: dr.reason, Tags: dr.tags,
		CertThumbprint: dr.thumbprint}
	if sd.Tags == nil {
		sd.Tags = map[string]string{}
	}
	switch {
	case sd.Status == "" && old != nil:
		sd.Status = old.Status
	case sd.Status == "":
		sd.Status = store.DeviceEnabled
	}
	if old != nil && sd.Status == old.Status && sd.StatusReason == "" {
		sd.StatusReason = old.StatusReason
	}
	if dr.primary != "" {
		sd.PrimaryKey = s.seal(dr.id, primary, dr.primary)
	} else if old != nil {
		sd.PrimaryKey = old.PrimaryKey
	}
	if dr.secondary != "" {
		sd.SecondaryKey = s.seal(dr.id, secondary, dr.secondary)
	} else if old != nil {
		sd.SecondaryKey = old.SecondaryKey
	}
	certOnly := len(sd.PrimaryKey) == 0 && len(sd.SecondaryKey) == 0 && sd.CertThumbprint != ""
	if len(sd.PrimaryKey) == 0 && !certOnly {
		sd.PrimaryKey = s.seal(dr.id, primary, secret.NewKey())
	}
	if len(sd.SecondaryKey) == 0 && !certOnly {
		sd.SecondaryKey = s.seal(dr.id, secondary, secret.NewKey())
	}
	pol, err := json.Marshal(dr.policy)
	if err != nil {
		return store.Device{}, fmt.Errorf("device: encode policy of %q: %w", dr.id, err)
	}
	sd.Policy = pol
	return sd, nil
}

// Get returns a device with its keys in plain text, for Manage holders.
func (s *Service) Get(ctx context.Context, id string) (Device, error) {
	sd, err := s.store.GetDevice(ctx, strings.ToLower(id))
	if err != nil {
		return Device{}, notFound(err, id)
	}
	return s.view(sd, true)
}

// Lookup returns a device with its keys opened, for the token service:
// the same as Get. An unknown device is 404 device_not_found, wrapping
// store.ErrNotFound.
func (s *Service) Lookup(ctx context.Context, id string) (Device, error) { return s.Get(ctx, id) }

// LookupByThumbprint returns the device registered with a certificate
// thumbprint (hex, any case), with its keys opened. An unknown or malformed
// thumbprint is 404 device_not_found, wrapping store.ErrNotFound.
func (s *Service) LookupByThumbprint(ctx context.Context, thumbprint string) (Device, error) {
	t, err := CanonicalThumbprint(thumbprint)
	if err != nil {
		t = "" // no device has a malformed thumbprint, nor an empty one
	}
	sd, err := s.store.GetDeviceByThumbprint(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return Device{}, apierr.Wrap(err, http.StatusNotFound, "device_not_found", "no device has certificate thumbprint %.64q", thumbprint)
	} else if err != nil {
		return Device{}, hub.StoreError(err)
	}
	return s.view(sd, true)
}

// Delete removes a device. A quarantined or disabled device's publisher
// stays revoked: deleting a device must not let a compromised one send
// again. Lift the revocation through the hub's revoked publishers.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := s.store.DeleteDevice(ctx, strings.ToLower(id)); err != nil {
		return notFound(err, id)
	}
	// A device registered again under this id starts from the fleet's agent configuration.
	if err := s.store.DeleteSetting(ctx, deviceAgentConfigKey+strings.ToLower(id)); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.logger.Warn("delete device agent configuration", "device", id, "err", err)
	}
	s.changed(strings.ToLower(id))
	return nil
}

// view converts a stored device to the API shape, opening its keys when
// withKeys is set.
func (s *Service) view(sd store.Device, withKeys bool) (Device, error) {
	d := Device{ID: sd.ID, CreatedAt: sd.CreatedAt, UpdatedAt: sd.UpdatedAt, Spec: Spec{Hub: sd.Hub, Status: sd.Status,
		StatusReason: sd.StatusReason, Tags: sd.Tags, CertThumbprint: sd.CertThumbprint}}
	if len(sd.Policy) > 0 {
		if err := json.Unmarshal(sd.Policy, &d.Policy); err != nil {
			return Device{}, fmt.Errorf("device: decode stored policy of %q: %w", sd.ID, err)
		}
	}
	if withKeys {
		var err error
		if d.PrimaryKey, err = s.open(sd.ID, primary, sd.PrimaryKey); err != nil {
			return Device{}, err
		}
		if d.SecondaryKey, err = s.open(sd.ID, secondary, sd.SecondaryKey); err != nil {
			return Device{}, err
		}
	}
	return d, nil
}

// notFound maps a store error about device id.
func notFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apierr.Wrap(err, http.StatusNotFound, "device_not_found", "device %.64q is not registered", id)
	}
	return hub.StoreError(err)
}

// hubErr maps a store error about the hub a device names.
func hubErr(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apierr.Wrap(err, http.StatusNotFound, "hub_not_found", "hub %q does not exist", name)
	}
	return hub.StoreError(err)
}

// writeErr maps the error of a device write: the hub deleted meanwhile, or
// the certificate thumbprint taken by another device.
func writeErr(err error, sd store.Device) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return hubErr(err, sd.Hub)
	case errors.Is(err, store.ErrConflict) && sd.CertThumbprint != "":
		return apierr.Wrap(err, http.StatusConflict, "thumbprint_in_use", "certificate thumbprint %s is registered to another device", sd.CertThumbprint)
	}
	return hub.StoreError(err)
}
