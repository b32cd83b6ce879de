package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/moatsec/moat/internal/store"
)

const (
	policyColumns = `name, spec, created_at, updated_at`
	insertPolicy  = `INSERT INTO response_policies (` + policyColumns + `) VALUES ($1, $2, $3, $3)
		ON CONFLICT (name) DO NOTHING`
	updatePolicy = `UPDATE response_policies SET spec = $2, updated_at = $3 WHERE name = $1`
	getPolicy    = `SELECT ` + policyColumns + ` FROM response_policies WHERE name = $1`
	listPolicies = `SELECT ` + policyColumns + ` FROM response_policies ORDER BY name`
	deletePolicy = `DELETE FROM response_policies WHERE name = $1`

	actionColumns = `id, device, policy, alert_id, action, actor, reason, at`
	insertAction  = `INSERT INTO response_actions (` + actionColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	selectActions = `SELECT ` + actionColumns + ` FROM response_actions`
)

// maxPolicyName bounds response policy names, in bytes.
const maxPolicyName = 200

// PutResponsePolicy creates or replaces a policy.
func (s *Store) PutResponsePolicy(ctx context.Context, p store.ResponsePolicy) (bool, error) {
	if p.Name == "" || len(p.Name) > maxPolicyName {
		return false, fmt.Errorf("put response policy: name of %d bytes (1..%d)", len(p.Name), maxPolicyName)
	}
	created, err := upsert(ctx, s.write, insertPolicy, updatePolicy, clean(p.Name), clean(string(p.Spec)), s.timestamp())
	if err != nil {
		return false, fmt.Errorf("put response policy %q: %w", p.Name, err)
	}
	return created, nil
}

// GetResponsePolicy returns a policy or store.ErrNotFound.
func (s *Store) GetResponsePolicy(ctx context.Context, name string) (store.ResponsePolicy, error) {
	p, err := scanPolicy(s.read.QueryRowContext(ctx, getPolicy, clean(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("response policy %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("get response policy %q: %w", name, err)
	}
	return p, nil
}

// ListResponsePolicies returns every policy ordered by name.
func (s *Store) ListResponsePolicies(ctx context.Context) ([]store.ResponsePolicy, error) {
	ps, err := list(ctx, s, scanPolicy, listPolicies)
	if err != nil {
		return nil, fmt.Errorf("list response policies: %w", err)
	}
	return ps, nil
}

// DeleteResponsePolicy removes a policy or returns store.ErrNotFound.
func (s *Store) DeleteResponsePolicy(ctx context.Context, name string) error {
	ok, err := execOne(ctx, s.write, deletePolicy, clean(name))
	if err != nil {
		return fmt.Errorf("delete response policy %q: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("response policy %q: %w", name, store.ErrNotFound)
	}
	return nil
}

func scanPolicy(row scanner) (store.ResponsePolicy, error) {
	var p store.ResponsePolicy
	var spec string
	err := row.Scan(&p.Name, &spec, &p.CreatedAt, &p.UpdatedAt)
	p.Spec = []byte(spec)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// AddResponseAction records an action, with a new ID when it has none and
// the current time when At is zero.
func (s *Store) AddResponseAction(ctx context.Context, a store.ResponseAction) (store.ResponseAction, error) {
	now := s.timestamp()
	if a.ID == "" {
		a.ID = newID(now)
	}
	if a.At.IsZero() {
		a.At = now
	}
	at, err := checkTime("time", a.At)
	if err != nil {
		return store.ResponseAction{}, fmt.Errorf("add response action: %w", err)
	}
	a = store.ResponseAction{ID: clean(a.ID), Device: clean(a.Device), Policy: clean(a.Policy), AlertID: clean(a.AlertID),
		Action: clean(a.Action), Actor: clean(a.Actor), Reason: clean(a.Reason), At: at}
	_, err = s.write.ExecContext(ctx, insertAction, a.ID, a.Device, a.Policy, a.AlertID, a.Action, a.Actor, a.Reason, a.At)
	if err != nil && s.dialect.IsUniqueViolation(err) {
		return store.ResponseAction{}, fmt.Errorf("add response action %q: the ID is taken: %w", a.ID, store.ErrConflict)
	}
	if err != nil {
		return store.ResponseAction{}, fmt.Errorf("add response action %q: %w", a.Action, err)
	}
	return a, nil
}

// ListResponseActions returns a device's actions ("" = all), newest first.
func (s *Store) ListResponseActions(ctx context.Context, device string, limit int) ([]store.ResponseAction, error) {
	var w where
	w.eq("device", device)
	n := w.arg(pageLimit(limit, store.MaxResponseActionPage, store.MaxResponseActionPage))
	as, err := list(ctx, s, scanAction, selectActions+w.String()+` ORDER BY at DESC, id DESC LIMIT `+n, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list response actions of device %q: %w", device, err)
	}
	return as, nil
}

func scanAction(row scanner) (store.ResponseAction, error) {
	var a store.ResponseAction
	err := row.Scan(&a.ID, &a.Device, &a.Policy, &a.AlertID, &a.Action, &a.Actor, &a.Reason, &a.At)
	a.At = a.At.UTC()
	return a, err
}
