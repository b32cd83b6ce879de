package hub

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/sas"
)

// Right is an access right of an authorization rule.
type Right string

// The three rights. Manage implies Send and Listen.
const (
	Manage Right = "Manage"
	Send   Right = "Send"
	Listen Right = "Listen"
)

// Authorization failure reasons (the "reason" of a 401 response).
const (
	ReasonMissingToken       = "missing_token"
	ReasonMalformedToken     = "malformed_token"
	ReasonBadSignature       = "bad_signature"
	ReasonExpiredToken       = "expired_token"
	ReasonWrongResource      = "wrong_resource"
	ReasonInsufficientRights = "insufficient_rights"
	ReasonPublisherRevoked   = "publisher_revoked"
)

var authReasons = []string{ReasonMissingToken, ReasonMalformedToken, ReasonBadSignature,
	ReasonExpiredToken, ReasonWrongResource, ReasonInsufficientRights, ReasonPublisherRevoked}

// Principal is who an authorized request acts as.
type Principal struct {
	RuleHub  string // "" for a namespace rule
	RuleName string
	Scope    string // canonical path the token is scoped to, e.g. "/telemetry/publishers/dev1"
	Rights   []string
}

// ruleEntry is a rule with its keys opened, held only in memory.
type ruleEntry struct {
	hub, name          string
	rights             []string
	primary, secondary string
}

func (e *ruleEntry) has(r Right) bool {
	return slices.Contains(e.rights, string(r)) || (r != Manage && slices.Contains(e.rights, string(Manage)))
}

// ruleSet is an immutable snapshot of all rules. Its token cache belongs to
// it: a reload (after a key is regenerated or a rule deleted) installs a new
// snapshot with an empty cache, so no token verified against an old key can
// be found again — even one inserted by a request still running against the
// old snapshot.
type ruleSet struct {
	byKey map[ruleKey]*ruleEntry
	cache *tokenCache
}

type ruleKey struct{ hub, name string }

func sealAD(hub, name, which string) string { return "rule/" + hub + "/" + name + "/" + which }

func (c *Core) reloadRules(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	rules, err := c.store.ListAllRules(ctx)
	if err != nil {
		return mapStoreErr(fmt.Errorf("hub: load rules: %w", err))
	}
	rs := &ruleSet{byKey: make(map[ruleKey]*ruleEntry, len(rules)), cache: newTokenCache()}
	for _, r := range rules {
		e, err := c.openRule(r)
		if err != nil {
			return err
		}
		rs.byKey[ruleKey{r.Hub, r.Name}] = e
	}
	c.rules.Store(rs)
	return nil
}

func (c *Core) openRule(r store.Rule) (*ruleEntry, error) {
	p, err := c.box.Open(r.PrimaryKey, sealAD(r.Hub, r.Name, "primary"))
	if err != nil {
		return nil, fmt.Errorf("hub: open primary key of rule %s/%s: %w", r.Hub, r.Name, err)
	}
	s, err := c.box.Open(r.SecondaryKey, sealAD(r.Hub, r.Name, "secondary"))
	if err != nil {
		return nil, fmt.Errorf("hub: open secondary key of rule %s/%s: %w", r.Hub, r.Name, err)
	}
	return &ruleEntry{hub: r.Hub, name: r.Name, rights: r.Rights, primary: string(p), secondary: string(s)}, nil
}

// Authorize checks that token grants right on resource, a canonical path
// such as "/", "/telemetry" or "/telemetry/publishers/dev1". It returns a
// 401 *apierr.Error with one of the Reason* codes otherwise.
//
// Verified signatures are cached per token string in the current rule
// snapshot; expiry, scope and rights are re-checked on every call.
func (c *Core) Authorize(token, resource string, right Right) (Principal, error) {
	p, err := c.authorize(token, resource, right)
	if err != nil {
		c.m.authFailures.WithLabelValues(apierr.As(err).Reason).Inc()
	}
	return p, err
}

func (c *Core) authorize(token, resource string, right Right) (Principal, error) {
	if token == "" {
		return Principal{}, apierr.Unauthorized(ReasonMissingToken, "no SharedAccessSignature in the Authorization header")
	}
	rs := c.rules.Load()
	ct, ok := rs.cache.get(token)
	if !ok {
		t, err := sas.Parse(token)
		if err != nil {
			return Principal{}, apierr.Unauthorized(ReasonMalformedToken, "%v", err)
		}
		scope, err := t.Scope(c.ns)
		if errors.Is(err, sas.ErrWrongNamespace) {
			return Principal{}, apierr.Unauthorized(ReasonWrongResource, "token is scoped to another namespace")
		} else if err != nil {
			return Principal{}, apierr.Unauthorized(ReasonMalformedToken, "%v", err)
		}
		e := rs.verify(t, scope)
		if e == nil {
			// Unknown key name and wrong key look the same from outside: no oracle for rule names.
			return Principal{}, apierr.Unauthorized(ReasonBadSignature, "signature does not match any key of rule %q", trunc(t.KeyName))
		}
		ct = cachedToken{scope: scope, rule: e, expiry: t.Expiry}
		if !t.Expired(c.clock(), c.skew) {
			rs.cache.put(token, ct)
		}
	}
	if (sas.Token{Expiry: ct.expiry}).Expired(c.clock(), c.skew) {
		return Principal{}, apierr.Unauthorized(ReasonExpiredToken, "token expired")
	}
	if !sas.Covers(ct.scope, resource) {
		return Principal{}, apierr.Unauthorized(ReasonWrongResource, "token scoped to %s does not cover %s", ct.scope, resource)
	}
	if !ct.rule.has(right) {
		return Principal{}, apierr.Unauthorized(ReasonInsufficientRights, "rule %q lacks the %s right", ct.rule.name, right)
	}
	return Principal{RuleHub: ct.rule.hub, RuleName: ct.rule.name, Scope: ct.scope, Rights: ct.rule.rights}, nil
}

// verify finds the rule named by the token whose key signed it. Candidates:
// the namespace rule of that name, and the hub rule of that name in the hub
// the token is scoped to. A hub rule can only sign tokens inside its hub.
func (rs *ruleSet) verify(t sas.Token, scope string) *ruleEntry {
	if t.KeyName == "" {
		return nil
	}
	if hub := firstSegment(scope); hub != "" {
		if e := rs.byKey[ruleKey{hub, t.KeyName}]; e != nil && t.Verify(e.primary, e.secondary) >= 0 {
			return e
		}
	}
	if e := rs.byKey[ruleKey{"", t.KeyName}]; e != nil && t.Verify(e.primary, e.secondary) >= 0 {
		return e
	}
	return nil
}

func firstSegment(path string) string {
	p := strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

// tokenCache maps a token string to its verified fields. It is sharded to
// keep lock contention low and bounded: a full shard is emptied, which costs
// at most one HMAC per token again.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const (
	cacheShards   = 16
	cacheShardMax = 4096 // 65,536 tokens in all
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cachedToken
}

type cachedToken struct {
	scope  string
	rule   *ruleEntry
	expiry int64
}

func newTokenCache() *tokenCache {
	tc := &tokenCache{seed: maphash.MakeSeed()}
	for i := range tc.shards {
		tc.shards[i].m = make(map[string]cachedToken)
	}
	return tc
}

func (tc *tokenCache) shard(k string) *cacheShard {
	return &tc.shards[maphash.String(tc.seed, k)%cacheShards]
}

func (tc *tokenCache) get(k string) (cachedToken, bool) {
	s := tc.shard(k)
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}

func (tc *tokenCache) put(k string, v cachedToken) {
	s := tc.shard(k)
	s.mu.Lock()
	if len(s.m) >= cacheShardMax {
		clear(s.m)
	}
	s.m[k] = v
	s.mu.Unlock()
}
