package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/eventlog"
)

// Revocations live in a JetStream KV bucket so they survive restarts and
// reach every node. A key is "hub/publisher" (the bucket encodes characters
// KV keys may not hold); the value records when it happened.
//
// The local set is updated synchronously by Revoke and Restore, so the very
// next request on this node sees the change; other nodes learn it from the
// bucket watch.

type revocation struct {
	RevokedAt time.Time `json:"revokedAt"`
}

// RevokedPublisher is one entry of a hub's revocation list.
type RevokedPublisher struct {
	Name      string    `json:"name"`
	RevokedAt time.Time `json:"revokedAt"`
}

func revKey(hub, pub string) string { return hub + "/" + pub }

func parseRevKey(k string) (pubKey, bool) {
	hub, pub, ok := strings.Cut(k, "/")
	return pubKey{hub, pub}, ok && hub != "" && pub != ""
}

func (c *Core) onRevocation(key string, value []byte, deleted bool) {
	k, ok := parseRevKey(key)
	if !ok {
		c.logger.Warn("ignoring malformed revocation key", "key", key)
		return
	}
	c.revMu.Lock()
	defer c.revMu.Unlock()
	if deleted {
		delete(c.revoked, k)
		return
	}
	var r revocation
	_ = json.Unmarshal(value, &r) // a bad timestamp still revokes
	c.revoked[k] = r.RevokedAt
}

// IsRevoked reports whether publisher pub of hub is revoked. Both names must
// be canonical.
func (c *Core) IsRevoked(hub, pub string) bool {
	c.revMu.RLock()
	_, ok := c.revoked[pubKey{hub, pub}]
	c.revMu.RUnlock()
	return ok
}

func (c *Core) canonicalPair(hub, pub string) (string, string, error) {
	h, err := CanonicalHub(hub)
	if err != nil {
		return "", "", err
	}
	if _, ok := c.lookupHub(h); !ok {
		return "", "", apierr.NotFound("hub_not_found", "hub %q does not exist", h)
	}
	p, err := CanonicalPublisher(pub)
	if err != nil {
		return "", "", err
	}
	return h, p, nil
}

// Revoke blocks a publisher: from the moment this returns its sends are
// refused whatever token it holds. Revoking twice is 409 already_revoked.
func (c *Core) Revoke(ctx context.Context, hub, pub string) (RevokedPublisher, error) {
	hub, pub, err := c.canonicalPair(hub, pub)
	if err != nil {
		return RevokedPublisher{}, err
	}
	now := c.clock().UTC()
	v, _ := json.Marshal(revocation{RevokedAt: now})
	if err := c.revKV.Create(ctx, revKey(hub, pub), v); errors.Is(err, eventlog.ErrExists) {
		return RevokedPublisher{}, apierr.Conflict("already_revoked", "publisher %q of hub %q is already revoked", pub, hub)
	} else if err != nil {
		return RevokedPublisher{}, logErr(err)
	}
	c.revMu.Lock()
	c.revoked[pubKey{hub, pub}] = now
	c.revMu.Unlock()
	c.logger.Info("publisher revoked", "hub", hub, "publisher", pub)
	return RevokedPublisher{Name: pub, RevokedAt: now}, nil
}

// Restore lifts a revocation. Restoring a publisher that is not revoked is
// 404 not_revoked.
func (c *Core) Restore(ctx context.Context, hub, pub string) error {
	hub, pub, err := c.canonicalPair(hub, pub)
	if err != nil {
		return err
	}
	if _, err := c.revKV.Get(ctx, revKey(hub, pub)); errors.Is(err, eventlog.ErrNotFoundKey) {
		return apierr.NotFound("not_revoked", "publisher %q of hub %q is not revoked", pub, hub)
	} else if err != nil {
		return logErr(err)
	}
	if err := c.revKV.Delete(ctx, revKey(hub, pub)); err != nil && !errors.Is(err, eventlog.ErrNotFoundKey) {
		return logErr(err)
	}
	c.revMu.Lock()
	delete(c.revoked, pubKey{hub, pub})
	c.revMu.Unlock()
	c.logger.Info("publisher restored", "hub", hub, "publisher", pub)
	return nil
}

// ListRevoked returns a hub's revoked publishers ordered by name.
func (c *Core) ListRevoked(_ context.Context, hub string) ([]RevokedPublisher, error) {
	h, err := CanonicalHub(hub)
	if err != nil {
		return nil, err
	}
	if _, ok := c.lookupHub(h); !ok {
		return nil, apierr.NotFound("hub_not_found", "hub %q does not exist", h)
	}
	c.revMu.RLock()
	out := []RevokedPublisher{}
	for k, at := range c.revoked {
		if k.hub == h {
			out = append(out, RevokedPublisher{Name: k.publisher, RevokedAt: at})
		}
	}
	c.revMu.RUnlock()
	slices.SortFunc(out, func(a, b RevokedPublisher) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// dropRevocations deletes a hub's revocations from the shared bucket first,
// then from this node's set, so a failed attempt leaves them for a retry to
// find in the bucket (the source of truth), never only in memory.
func (c *Core) dropRevocations(ctx context.Context, hub string) error {
	keys, err := c.revKV.Keys(ctx)
	if err != nil {
		return fmt.Errorf("hub: list revocations of %s: %w", hub, err)
	}
	for _, key := range keys {
		k, ok := parseRevKey(key)
		if !ok || k.hub != hub {
			continue
		}
		if err := c.revKV.Delete(ctx, key); err != nil && !errors.Is(err, eventlog.ErrNotFoundKey) {
			return fmt.Errorf("hub: drop revocations of %s: %w", hub, err)
		}
		c.revMu.Lock()
		delete(c.revoked, k)
		c.revMu.Unlock()
	}
	return nil
}
