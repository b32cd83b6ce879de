package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/moatsec/moat/internal/store"
)

// Rights are stored as one text column, comma-separated in canonical order.
const rightsSep = ","

const (
	ruleColumns = `hub, name, rights, primary_key, secondary_key, created_at, updated_at`

	insertRule = `INSERT INTO rules (` + ruleColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (hub, name) DO NOTHING`
	updateRule = `UPDATE rules
		SET rights = $3, primary_key = $4, secondary_key = $5, updated_at = $6
		WHERE hub = $1 AND name = $2`
	getRule      = `SELECT ` + ruleColumns + ` FROM rules WHERE hub = $1 AND name = $2`
	listRules    = `SELECT ` + ruleColumns + ` FROM rules WHERE hub = $1 ORDER BY name`
	listAllRules = `SELECT ` + ruleColumns + ` FROM rules ORDER BY hub, name`
	deleteRule   = `DELETE FROM rules WHERE hub = $1 AND name = $2`
)

// PutRule creates or updates a rule; created reports whether it was new.
// Rights are normalized with store.NormalizeRights; a hub-level rule for a
// missing hub is store.ErrNotFound.
func (s *Store) PutRule(ctx context.Context, r store.Rule) (bool, error) {
	rights, err := store.NormalizeRights(r.Rights)
	if err != nil {
		return false, fmt.Errorf("put %s: %w", ruleRef(r.Hub, r.Name), err)
	}
	created, err := upsert(ctx, s.write, insertRule, updateRule,
		r.Hub, r.Name, strings.Join(rights, rightsSep), nonNil(r.PrimaryKey), nonNil(r.SecondaryKey), s.timestamp())
	if err != nil && s.dialect.IsForeignKeyViolation(err) {
		return false, fmt.Errorf("put %s: hub %q: %w", ruleRef(r.Hub, r.Name), r.Hub, store.ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("put %s: %w", ruleRef(r.Hub, r.Name), err)
	}
	return created, nil
}

// GetRule returns the rule or store.ErrNotFound.
func (s *Store) GetRule(ctx context.Context, hub, name string) (store.Rule, error) {
	r, err := scanRule(s.read.QueryRowContext(ctx, getRule, hub, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Rule{}, fmt.Errorf("%s: %w", ruleRef(hub, name), store.ErrNotFound)
	}
	if err != nil {
		return store.Rule{}, fmt.Errorf("get %s: %w", ruleRef(hub, name), err)
	}
	return r, nil
}

// ListRules returns the rules of one scope (hub "" = namespace) ordered by
// name. A hub that does not exist has no rules: the result is empty, not an
// error.
func (s *Store) ListRules(ctx context.Context, hub string) ([]store.Rule, error) {
	rules, err := list(ctx, s, scanRule, listRules, hub)
	if err != nil {
		return nil, fmt.Errorf("list rules of %s: %w", scopeRef(hub), err)
	}
	return rules, nil
}

// ListAllRules returns every rule ordered by hub then name; namespace rules
// (hub "") come first.
func (s *Store) ListAllRules(ctx context.Context) ([]store.Rule, error) {
	rules, err := list(ctx, s, scanRule, listAllRules)
	if err != nil {
		return nil, fmt.Errorf("list all rules: %w", err)
	}
	return rules, nil
}

// DeleteRule removes a rule or returns store.ErrNotFound.
func (s *Store) DeleteRule(ctx context.Context, hub, name string) error {
	deleted, err := execOne(ctx, s.write, deleteRule, hub, name)
	if err != nil {
		return fmt.Errorf("delete %s: %w", ruleRef(hub, name), err)
	}
	if !deleted {
		return fmt.Errorf("%s: %w", ruleRef(hub, name), store.ErrNotFound)
	}
	return nil
}

func scanRule(row scanner) (store.Rule, error) {
	var (
		r      store.Rule
		rights string
	)
	err := row.Scan(&r.Hub, &r.Name, &rights, &r.PrimaryKey, &r.SecondaryKey, &r.CreatedAt, &r.UpdatedAt)
	r.Rights = []string{}
	if rights != "" {
		r.Rights = strings.Split(rights, rightsSep)
	}
	r.PrimaryKey, r.SecondaryKey = nonNil(r.PrimaryKey), nonNil(r.SecondaryKey)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

// ruleRef names a rule in error messages. It never includes key material.
func ruleRef(hub, name string) string {
	if hub == "" {
		return fmt.Sprintf("namespace rule %q", name)
	}
	return fmt.Sprintf("rule %q of hub %q", name, hub)
}

func scopeRef(hub string) string {
	if hub == "" {
		return "namespace"
	}
	return fmt.Sprintf("hub %q", hub)
}

// nonNil maps a nil key to an empty one: the key columns are NOT NULL, and
// drivers bind a nil []byte as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
