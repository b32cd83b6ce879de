package device

import (
	"context"
	"net/http"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/secret"
	"github.com/moatsec/moat/internal/store"
)

// SetStatus changes a device's status and records why, with the side
// effects on its publisher described at Put: quarantined and disabled
// revoke it, enabled restores it, needs_maintenance leaves it as it is
// (a device that needs maintenance may still send). The discovery service
// uses it to mark a silent device needs_maintenance.
func (s *Service) SetStatus(ctx context.Context, id, status, reason string) error {
	_, err := s.setStatus(ctx, id, status, reason)
	return err
}

// Quarantine isolates a device: its publisher is revoked at once, and the
// discovery service refuses it tokens, until it is released.
func (s *Service) Quarantine(ctx context.Context, id, reason string) (Device, error) {
	return s.setStatus(ctx, id, store.DeviceQuarantined, reason)
}

// Release ends a quarantine (or a needs_maintenance status): the device is
// enabled and its publisher restored. Releasing an enabled device changes
// nothing; a disabled device is 409 device_disabled: enable it with Put.
func (s *Service) Release(ctx context.Context, id string) (Device, error) {
	sd, err := s.store.GetDevice(ctx, strings.ToLower(id))
	if err != nil {
		return Device{}, notFound(err, id)
	}
	if sd.Status == store.DeviceDisabled {
		return Device{}, apierr.Conflict("device_disabled", "device %q is disabled, not quarantined: enable it instead", sd.ID)
	}
	return s.setStatus(ctx, id, store.DeviceEnabled, "")
}

// setStatus changes the status and returns the device without keys.
func (s *Service) setStatus(ctx context.Context, id, status, reason string) (Device, error) {
	if !validStatus(status) {
		return Device{}, invalid(id, "status %.64q: want %s", status, statusList)
	}
	if len(reason) > MaxStatusReason || !printable(reason) {
		return Device{}, invalid(id, "reason: want at most %d bytes of printable text", MaxStatusReason)
	}
	old, err := s.store.GetDevice(ctx, strings.ToLower(id))
	if err != nil {
		return Device{}, notFound(err, id)
	}
	sd := old
	sd.Status, sd.StatusReason = status, reason
	if err := s.block(ctx, &old, sd); err != nil {
		return Device{}, err
	}
	if err := s.store.SetDeviceStatus(ctx, sd.ID, status, reason); err != nil {
		return Device{}, notFound(err, id)
	}
	if err := s.unblock(ctx, &old, sd); err != nil {
		return Device{}, err
	}
	if old.Status != status {
		s.logger.Info("device status changed", "device", sd.ID, "hub", sd.Hub, "from", old.Status, "to", status)
	}
	got, err := s.store.GetDevice(ctx, sd.ID)
	if err != nil {
		return Device{}, notFound(err, id)
	}
	return s.view(got, false)
}

// block revokes the publisher of a device that is to be quarantined or
// disabled, before the device is written: should the write fail, the
// device stays unable to send rather than the reverse. A publisher already
// revoked is left as it is.
func (s *Service) block(ctx context.Context, old *store.Device, d store.Device) error {
	if !blocks(d.Status) || s.pubs.IsRevoked(d.Hub, d.ID) {
		return nil
	}
	_, err := s.pubs.Revoke(ctx, d.Hub, d.ID)
	if err != nil && apierr.As(err).Reason != "already_revoked" {
		return err
	}
	if old == nil || !blocks(old.Status) {
		s.logger.Info("device publisher revoked", "device", d.ID, "hub", d.Hub, "status", d.Status)
	}
	return nil
}

// unblock restores the publisher of a device that was quarantined or
// disabled and no longer is (or no longer in that hub), after the device
// is written.
func (s *Service) unblock(ctx context.Context, old *store.Device, d store.Device) error {
	if old == nil || !blocks(old.Status) || blocks(d.Status) && d.Hub == old.Hub {
		return nil
	}
	if err := s.pubs.Restore(ctx, old.Hub, old.ID); err != nil && apierr.As(err).Reason != "not_revoked" {
		return err
	}
	s.logger.Info("device publisher restored", "device", old.ID, "hub", old.Hub, "status", d.Status)
	return nil
}

// RotateKey replaces one of a device's keys with a fresh 256-bit key and
// returns the device with its keys. Proofs signed with the old key fail
// from then on.
func (s *Service) RotateKey(ctx context.Context, id string, which hub.KeyType) (Device, error) {
	slot := map[hub.KeyType]string{hub.PrimaryKey: primary, hub.SecondaryKey: secondary}[which]
	if slot == "" {
		return Device{}, apierr.BadRequest("invalid_key_type", "keyType must be %s or %s", hub.PrimaryKey, hub.SecondaryKey)
	}
	sd, err := s.store.GetDevice(ctx, strings.ToLower(id))
	if err != nil {
		return Device{}, notFound(err, id)
	}
	sealed := s.seal(sd.ID, slot, secret.NewKey())
	if slot == primary {
		sd.PrimaryKey = sealed
	} else {
		sd.SecondaryKey = sealed
	}
	if _, err := s.store.PutDevice(ctx, sd); err != nil {
		return Device{}, writeErr(err, sd)
	}
	return s.Get(ctx, sd.ID)
}

// Filter selects devices in List. Zero fields match every device.
type Filter struct {
	Status   string
	Hub      string
	TagKey   string // devices carrying this tag
	TagValue string // with TagKey: with this value
	After    string // the Next of the previous page
	Limit    int    // 1..MaxPageSize; 0 = DefaultPageSize
}

// Page sizes of List.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page is one page of List, ordered by ID. Next is the After of the
// following page, or "" on the last page: a full page sets it, so the
// following page may be empty.
type Page struct {
	Devices []Device `json:"devices"`
	Next    string   `json:"next"`
}

// List returns one page of the devices f selects, without keys. A bad
// filter is 400 invalid_query.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	sf, err := storeFilter(f)
	if err != nil {
		return Page{}, err
	}
	ds, err := s.store.ListDevices(ctx, sf)
	if err != nil {
		return Page{}, hub.StoreError(err)
	}
	p := Page{Devices: make([]Device, 0, len(ds))}
	for _, sd := range ds {
		v, err := s.view(sd, false)
		if err != nil {
			return Page{}, err
		}
		p.Devices = append(p.Devices, v)
	}
	if len(ds) == sf.Limit {
		p.Next = ds[len(ds)-1].ID
	}
	return p, nil
}

func storeFilter(f Filter) (store.DeviceFilter, error) {
	sf := store.DeviceFilter{Status: f.Status, TagKey: f.TagKey, TagVal: f.TagValue, After: strings.ToLower(f.After), Limit: f.Limit}
	if sf.Limit == 0 {
		sf.Limit = DefaultPageSize
	}
	if sf.Limit < 1 || sf.Limit > MaxPageSize {
		return store.DeviceFilter{}, badQuery("limit must be 1..%d", MaxPageSize)
	}
	if sf.Status != "" && !validStatus(sf.Status) {
		return store.DeviceFilter{}, badQuery("status %.64q: want %s", sf.Status, statusList)
	}
	if f.Hub != "" {
		h, err := hub.CanonicalHub(f.Hub)
		if err != nil {
			return store.DeviceFilter{}, badQuery("%s", apierr.As(err).Message)
		}
		sf.Hub = h
	}
	if sf.TagKey != "" {
		if err := checkTagKey(sf.TagKey); err != nil {
			return store.DeviceFilter{}, badQuery("%v", err)
		}
	} else if sf.TagVal != "" {
		return store.DeviceFilter{}, badQuery("a tag value needs a tag key")
	}
	return sf, nil
}

func badQuery(format string, args ...any) *apierr.Error {
	return apierr.New(http.StatusBadRequest, "invalid_query", format, args...)
}
