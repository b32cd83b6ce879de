package device

import (
	"context"
	"fmt"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/secret"
)

// The two key slots, as named in the sealing additional data.
const (
	primary   = "primary"
	secondary = "secondary"
)

// sealAD binds a sealed key to its device and slot.
func sealAD(id, slot string) string { return "device/" + id + "/" + slot }

// seal encrypts a key for one slot of a device.
func (s *Service) seal(id, slot, key string) []byte { return s.box.Seal([]byte(key), sealAD(id, slot)) }

// open decrypts what seal made; an empty value is no key.
func (s *Service) open(id, slot string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	k, err := s.box.Open(sealed, sealAD(id, slot))
	if err != nil {
		return "", fmt.Errorf("device: open %s key of %q: %w", slot, id, err)
	}
	return string(k), nil
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
	s.changed(sd.ID)
	return s.Get(ctx, sd.ID)
}
