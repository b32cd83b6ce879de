package hub

import (
	"context"
	"errors"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/store"
)

// Hub limits.
const (
	DefaultPartitions     = 4
	MaxPartitions         = 32
	DefaultRetentionHours = 24
	MaxRetentionHours     = 24 * 90
)

// HubSpec is what an operator asks for when creating or updating a hub.
// On create, zero values take the defaults; on update, they keep the hub's
// current values.
type HubSpec struct {
	Partitions     int `json:"partitions,omitempty"`
	RetentionHours int `json:"retentionHours,omitempty"`
}

// PutHub creates a hub or updates its retention and partition count.
// Partitions can be added but never removed: events already keyed to a
// partition must stay reachable.
func (c *Core) PutHub(ctx context.Context, name string, spec HubSpec) (store.Hub, bool, error) {
	name, err := CanonicalHub(name)
	if err != nil {
		return store.Hub{}, false, err
	}
	old, err := c.store.GetHub(ctx, name)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Hub{}, false, mapStoreErr(err)
	}
	if spec.Partitions == 0 {
		spec.Partitions = DefaultPartitions
		if exists {
			spec.Partitions = old.Partitions
		}
	}
	if spec.RetentionHours == 0 {
		spec.RetentionHours = DefaultRetentionHours
		if exists {
			spec.RetentionHours = old.RetentionHours
		}
	}
	if spec.Partitions < 1 || spec.Partitions > MaxPartitions {
		return store.Hub{}, false, apierr.BadRequest("invalid_partitions", "partitions must be 1..%d", MaxPartitions)
	}
	if spec.RetentionHours < 1 || spec.RetentionHours > MaxRetentionHours {
		return store.Hub{}, false, apierr.BadRequest("invalid_retention", "retentionHours must be 1..%d", MaxRetentionHours)
	}
	if exists && spec.Partitions < old.Partitions {
		return store.Hub{}, false, apierr.Conflict("partition_decrease",
			"hub %q has %d partitions; partitions can be added, not removed", name, old.Partitions)
	}
	// The log first: a hub is recorded only once its stream can take events.
	if err := c.log.EnsureHub(ctx, eventlog.HubSpec{Name: name, Partitions: spec.Partitions,
		Retention: time.Duration(spec.RetentionHours) * time.Hour}); err != nil {
		return store.Hub{}, false, logErr(err)
	}
	created, err := c.store.PutHub(ctx, store.Hub{Name: name, Partitions: spec.Partitions, RetentionHours: spec.RetentionHours})
	if err != nil {
		return store.Hub{}, false, mapStoreErr(err)
	}
	if err := c.hubsChanged(ctx); err != nil {
		return store.Hub{}, false, err
	}
	h, err := c.store.GetHub(ctx, name)
	return h, created, mapStoreErrNil(err)
}

// GetHub returns one hub.
func (c *Core) GetHub(ctx context.Context, name string) (store.Hub, error) {
	name, err := CanonicalHub(name)
	if err != nil {
		return store.Hub{}, err
	}
	h, err := c.store.GetHub(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Hub{}, apierr.NotFound("hub_not_found", "hub %q does not exist", name)
	}
	return h, mapStoreErrNil(err)
}

// ListHubs returns every hub ordered by name.
func (c *Core) ListHubs(ctx context.Context) ([]store.Hub, error) {
	hs, err := c.store.ListHubs(ctx)
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return hs, nil
}

// DeleteHub deletes a hub, its events, rules, checkpoints and revocations.
// A hub that devices are registered in is not deleted (409 hub_has_devices).
// The events and revocations go first and the metadata row last, so a
// delete that fails half-way can simply be retried, and a hub re-created
// under the same name never inherits old events or revocations.
func (c *Core) DeleteHub(ctx context.Context, name string) error {
	name, err := CanonicalHub(name)
	if err != nil {
		return err
	}
	if _, err := c.store.GetHub(ctx, name); errors.Is(err, store.ErrNotFound) {
		return apierr.NotFound("hub_not_found", "hub %q does not exist", name)
	} else if err != nil {
		return mapStoreErr(err)
	}
	// Devices keep their hub: refuse before anything is deleted. The store
	// refuses too, for a device registered meanwhile.
	if ds, err := c.store.ListDevices(ctx, store.DeviceFilter{Hub: name, Limit: 1}); err != nil {
		return mapStoreErr(err)
	} else if len(ds) > 0 {
		return hubHasDevices(name)
	}
	if err := c.log.PurgeSecurity(ctx, name); err != nil {
		return logErr(err)
	}
	if err := c.log.DeleteHub(ctx, name); err != nil && !errors.Is(err, eventlog.ErrNoHub) {
		return logErr(err)
	}
	if err := c.dropRevocations(ctx, name); err != nil {
		return logErr(err)
	}
	if err := c.store.DeleteHub(ctx, name); errors.Is(err, store.ErrConflict) {
		return hubHasDevices(name)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return mapStoreErr(err)
	}
	if err := c.hubsChanged(ctx); err != nil {
		return err
	}
	return c.rulesChanged(ctx)
}

func (c *Core) hubsChanged(ctx context.Context) error {
	if err := c.reloadHubs(ctx); err != nil {
		return err
	}
	c.announce(ctx, stateHubs)
	return nil
}

func hubHasDevices(name string) error {
	return apierr.Conflict("hub_has_devices", "hub %q has registered devices: delete them or move them to another hub first", name)
}

// StoreError maps a metadata-store error to an API error the way the hub's
// own operations do: store.ErrNotFound to 404 not_found, store.ErrConflict
// to 409 conflict, anything else to a retryable 503 store_unavailable.
// Callers map the sentinels they can name better first.
func StoreError(err error) error { return mapStoreErr(err) }

func mapStoreErrNil(err error) error {
	if err == nil {
		return nil
	}
	return mapStoreErr(err)
}

// logErr maps a log failure to 503 so clients retry.
func logErr(err error) error {
	return apierr.Unavailable(err, time.Second, "log_unavailable", "the event log cannot accept the request now; retry")
}
