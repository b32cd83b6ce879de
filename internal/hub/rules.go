package hub

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/secret"
	"github.com/moatsec/moat/internal/store"
)

// RootRuleName is the namespace rule created on first start.
const RootRuleName = "RootManageSharedAccessKey"

// RuleKeys is an authorization rule with its keys in plain text, as returned
// to an operator holding Manage.
type RuleKeys struct {
	Hub          string    `json:"hub,omitempty"`
	Name         string    `json:"name"`
	Rights       []string  `json:"rights"`
	PrimaryKey   string    `json:"primaryKey,omitempty"`
	SecondaryKey string    `json:"secondaryKey,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// CanonicalRights validates rights (case-insensitively) and returns them
// de-duplicated in the order Manage, Send, Listen.
func CanonicalRights(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, apierr.BadRequest("invalid_rights", "rights must name at least one of Manage, Send, Listen")
	}
	out, err := store.NormalizeRights(in)
	if err != nil {
		return nil, apierr.BadRequest("invalid_rights", "%v: want Manage, Send or Listen", err)
	}
	return out, nil
}

func (c *Core) ruleScope(hub string) (string, error) {
	if hub == "" {
		return "", nil
	}
	h, err := CanonicalHub(hub)
	if err != nil {
		return "", err
	}
	if _, ok := c.lookupHub(h); !ok {
		return "", apierr.NotFound("hub_not_found", "hub %q does not exist", h)
	}
	return h, nil
}

// SystemRulePrefix marks rules the server creates for itself (such as the
// discovery service's signing rule). Operators cannot create them or read
// their keys; the keys never leave the server.
const SystemRulePrefix = "moat-"

// DiscoveryRuleName is the hub-level Send rule whose key signs the
// publisher tokens the discovery service issues.
const DiscoveryRuleName = SystemRulePrefix + "discovery"

// IsSystemRule reports whether a rule name is reserved for the server.
func IsSystemRule(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), SystemRulePrefix)
}

// PutRule creates a rule with fresh keys, or updates the rights of an
// existing one (its keys are kept). hub "" is the namespace scope.
func (c *Core) PutRule(ctx context.Context, hub, name string, rights []string) (RuleKeys, bool, error) {
	if IsSystemRule(name) {
		return RuleKeys{}, false, apierr.BadRequest("invalid_name", "rule names starting with %q are reserved for the server", SystemRulePrefix)
	}
	return c.putRule(ctx, hub, name, rights)
}

func (c *Core) putRule(ctx context.Context, hub, name string, rights []string) (RuleKeys, bool, error) {
	hub, err := c.ruleScope(hub)
	if err != nil {
		return RuleKeys{}, false, err
	}
	if err := ValidRuleName(name); err != nil {
		return RuleKeys{}, false, err
	}
	rights, err = CanonicalRights(rights)
	if err != nil {
		return RuleKeys{}, false, err
	}
	r, err := c.store.GetRule(ctx, hub, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		r = store.Rule{Hub: hub, Name: name,
			PrimaryKey:   c.box.Seal([]byte(secret.NewKey()), sealAD(hub, name, "primary")),
			SecondaryKey: c.box.Seal([]byte(secret.NewKey()), sealAD(hub, name, "secondary"))}
	case err != nil:
		return RuleKeys{}, false, mapStoreErr(err)
	default:
		if hub == "" && slices.Contains(r.Rights, string(Manage)) && !slices.Contains(rights, string(Manage)) {
			if err := c.keepOneManageRule(ctx, name); err != nil {
				return RuleKeys{}, false, err
			}
		}
	}
	r.Rights = rights
	created, err := c.store.PutRule(ctx, r)
	if err != nil {
		return RuleKeys{}, false, mapStoreErr(err)
	}
	if err := c.rulesChanged(ctx); err != nil {
		return RuleKeys{}, false, err
	}
	rk, err := c.getRule(ctx, hub, name, !IsSystemRule(name))
	return rk, created, err
}

// GetRule returns a rule, with its keys when withKeys is set. The keys of
// system rules are never returned (403 system_rule).
func (c *Core) GetRule(ctx context.Context, hub, name string, withKeys bool) (RuleKeys, error) {
	if withKeys && IsSystemRule(name) {
		return RuleKeys{}, apierr.New(http.StatusForbidden, "system_rule", "the keys of rule %q never leave the server", trunc(name))
	}
	return c.getRule(ctx, hub, name, withKeys)
}

func (c *Core) getRule(ctx context.Context, hub, name string, withKeys bool) (RuleKeys, error) {
	hub, err := c.ruleScope(hub)
	if err != nil {
		return RuleKeys{}, err
	}
	r, err := c.store.GetRule(ctx, hub, name)
	if err != nil {
		return RuleKeys{}, ruleErr(err, hub, name)
	}
	return c.ruleKeys(r, withKeys)
}

func (c *Core) ruleKeys(r store.Rule, withKeys bool) (RuleKeys, error) {
	rk := RuleKeys{Hub: r.Hub, Name: r.Name, Rights: r.Rights, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if withKeys {
		e, err := c.openRule(r)
		if err != nil {
			return RuleKeys{}, err
		}
		rk.PrimaryKey, rk.SecondaryKey = e.primary, e.secondary
	}
	return rk, nil
}

// ListRules lists the rules of a scope, without keys.
func (c *Core) ListRules(ctx context.Context, hub string) ([]RuleKeys, error) {
	hub, err := c.ruleScope(hub)
	if err != nil {
		return nil, err
	}
	rules, err := c.store.ListRules(ctx, hub)
	if err != nil {
		return nil, mapStoreErr(err)
	}
	out := make([]RuleKeys, 0, len(rules))
	for _, r := range rules {
		rk, _ := c.ruleKeys(r, false)
		out = append(out, rk)
	}
	return out, nil
}

// KeyType names one of a rule's two keys.
type KeyType string

// The two key types of a rule.
const (
	PrimaryKey   KeyType = "PrimaryKey"
	SecondaryKey KeyType = "SecondaryKey"
)

// RegenerateKey replaces one key of a rule. Tokens signed with the old key
// fail from the moment this returns.
func (c *Core) RegenerateKey(ctx context.Context, hub, name string, which KeyType) (RuleKeys, error) {
	hub, err := c.ruleScope(hub)
	if err != nil {
		return RuleKeys{}, err
	}
	r, err := c.store.GetRule(ctx, hub, name)
	if err != nil {
		return RuleKeys{}, ruleErr(err, hub, name)
	}
	switch which {
	case PrimaryKey:
		r.PrimaryKey = c.box.Seal([]byte(secret.NewKey()), sealAD(hub, name, "primary"))
	case SecondaryKey:
		r.SecondaryKey = c.box.Seal([]byte(secret.NewKey()), sealAD(hub, name, "secondary"))
	default:
		return RuleKeys{}, apierr.BadRequest("invalid_key_type", "keyType must be PrimaryKey or SecondaryKey")
	}
	if _, err := c.store.PutRule(ctx, r); err != nil {
		return RuleKeys{}, mapStoreErr(err)
	}
	if err := c.rulesChanged(ctx); err != nil {
		return RuleKeys{}, err
	}
	return c.getRule(ctx, hub, name, !IsSystemRule(name))
}

// DeleteRule deletes a rule. The last namespace rule with Manage cannot be
// deleted: nobody could administer the namespace afterwards.
func (c *Core) DeleteRule(ctx context.Context, hub, name string) error {
	hub, err := c.ruleScope(hub)
	if err != nil {
		return err
	}
	r, err := c.store.GetRule(ctx, hub, name)
	if err != nil {
		return ruleErr(err, hub, name)
	}
	if hub == "" && slices.Contains(r.Rights, string(Manage)) {
		if err := c.keepOneManageRule(ctx, name); err != nil {
			return err
		}
	}
	if err := c.store.DeleteRule(ctx, hub, name); err != nil {
		return mapStoreErr(err)
	}
	return c.rulesChanged(ctx)
}

func (c *Core) keepOneManageRule(ctx context.Context, except string) error {
	rules, err := c.store.ListRules(ctx, "")
	if err != nil {
		return mapStoreErr(err)
	}
	for _, r := range rules {
		if r.Name != except && slices.Contains(r.Rights, string(Manage)) {
			return nil
		}
	}
	return apierr.Conflict("last_manage_rule", "rule %q is the last namespace rule with Manage; create another first", except)
}

// EnsureRootRule creates the namespace rule RootManageSharedAccessKey
// (Manage, Send, Listen) if no namespace rule exists yet, and returns it with
// its keys. created reports whether it was made now.
func (c *Core) EnsureRootRule(ctx context.Context) (RuleKeys, bool, error) {
	rules, err := c.store.ListRules(ctx, "")
	if err != nil {
		return RuleKeys{}, false, mapStoreErr(err)
	}
	if len(rules) > 0 {
		rk, err := c.GetRule(ctx, "", RootRuleName, true)
		if errors.Is(err, store.ErrNotFound) || apierr.As(err).Status == http.StatusNotFound {
			return RuleKeys{}, false, nil // the operator replaced the root rule; nothing to do
		}
		return rk, false, err
	}
	return c.PutRule(ctx, "", RootRuleName, []string{string(Manage), string(Send), string(Listen)})
}

func (c *Core) rulesChanged(ctx context.Context) error {
	if err := c.reloadRules(ctx); err != nil {
		return err
	}
	c.announce(ctx, stateRules)
	return nil
}

// ruleErr maps a store error about one rule.
func ruleErr(err error, hub, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		scope := "the namespace"
		if hub != "" {
			scope = "hub " + hub
		}
		return apierr.Wrap(err, http.StatusNotFound, "rule_not_found", "%s has no rule %q", scope, trunc(name))
	}
	return mapStoreErr(err)
}

// mapStoreErr turns store errors into API errors: the sentinels into 404 and
// 409, anything else (the database unreachable, a timeout) into a retryable
// 503; the cause is logged, never sent.
func mapStoreErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.Wrap(err, http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, store.ErrConflict):
		return apierr.Wrap(err, http.StatusConflict, "conflict", "already exists")
	}
	return apierr.Unavailable(err, time.Second, "store_unavailable", "the metadata store cannot answer now; retry")
}

// SigningKey returns the name and primary key of a hub's discovery signing
// rule (Send only), creating the rule on first use. The key is read from the
// in-memory rule snapshot, so issuing a token costs no store access.
func (c *Core) SigningKey(ctx context.Context, hub string) (name, key string, err error) {
	if e := c.rules.Load().byKey[ruleKey{hub, DiscoveryRuleName}]; e != nil {
		return e.name, e.primary, nil
	}
	// Created once: concurrent first token requests of a new hub would
	// otherwise each create the rule, each replacing the keys the others
	// signed with.
	c.signingMu.Lock()
	defer c.signingMu.Unlock()
	if e := c.rules.Load().byKey[ruleKey{hub, DiscoveryRuleName}]; e != nil {
		return e.name, e.primary, nil
	}
	if _, err := c.store.GetRule(ctx, hub, DiscoveryRuleName); err == nil {
		// Another node created it: load it rather than replace its keys.
		if err := c.reloadRules(ctx); err != nil {
			return "", "", err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", "", mapStoreErr(err)
	} else if _, _, err := c.putRule(ctx, hub, DiscoveryRuleName, []string{string(Send)}); err != nil {
		return "", "", err
	}
	e := c.rules.Load().byKey[ruleKey{hub, DiscoveryRuleName}]
	if e == nil {
		return "", "", apierr.Unavailable(nil, time.Second, "store_unavailable", "signing rule of hub %q not loaded yet", hub)
	}
	return e.name, e.primary, nil
}
