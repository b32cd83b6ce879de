package device

import (
	"context"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/store"
)

// SetStatus changes a device's status and records why, with the side
// effects on its publisher described at Put: quarantined and disabled
// revoke it, enabled restores it, needs_maintenance leaves it as it is
// (a device that needs maintenance may still send). The discovery service
// uses it to mark a silent device needs_maintenance; that never lifts a
// quarantine or a disabling (a race with one is 409 device_blocked).
func (s *Service) SetStatus(ctx context.Context, id, status, reason string) error {
	_, err := s.setStatus(ctx, id, status, reason, func(old store.Device) error {
		if status == store.DeviceNeedsMaintenance && blocks(old.Status) {
			return apierr.Conflict("device_blocked", "device %q is %s: release or enable it first", old.ID, old.Status)
		}
		return nil
	})
	return err
}

// Quarantine isolates a device: its publisher is revoked at once, and the
// discovery service refuses it tokens, until it is released.
func (s *Service) Quarantine(ctx context.Context, id, reason string) (Device, error) {
	return s.setStatus(ctx, id, store.DeviceQuarantined, reason, nil)
}

// Release ends a quarantine (or a needs_maintenance status): the device is
// enabled and its publisher restored. Releasing an enabled device changes
// nothing; a disabled device is 409 device_disabled: enable it with Put.
func (s *Service) Release(ctx context.Context, id string) (Device, error) {
	return s.setStatus(ctx, id, store.DeviceEnabled, "", func(old store.Device) error {
		if old.Status == store.DeviceDisabled {
			return apierr.Conflict("device_disabled", "device %q is disabled, not quarantined: enable it instead", old.ID)
		}
		return nil
	})
}

// setStatus changes the status and returns the device without keys. allow,
// when set, may refuse the change given the device as it is.
func (s *Service) setStatus(ctx context.Context, id, status, reason string, allow func(old store.Device) error) (Device, error) {
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
	if allow != nil {
		if err := allow(old); err != nil {
			return Device{}, err
		}
	}
	sd := old
	sd.Status, sd.StatusReason = status, reason
	if err := s.block(ctx, &old, sd); err != nil {
		return Device{}, err
	}
	if err := s.store.SetDeviceStatus(ctx, sd.ID, status, reason); err != nil {
		return Device{}, notFound(err, id)
	}
	s.changed(sd.ID)
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
