package store

import (
	"context"
	"time"
)

// ResponsePolicy is a named automatic-response policy. The store keeps its
// JSON spec opaque, byte for byte.
type ResponsePolicy struct {
	Name      string // 1..200 bytes
	Spec      []byte // JSON
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ResponseAction is a response taken on a device (a quarantine, a
// release): who did what, why and when.
type ResponseAction struct {
	ID      string // set by AddResponseAction when empty
	Device  string
	Policy  string // the policy that triggered it; "" for an operator's
	AlertID string
	Action  string
	Actor   string
	Reason  string
	At      time.Time // zero: now
}

// MaxResponseActionPage caps ListResponseActions.
const MaxResponseActionPage = 1000

// ResponseStore keeps response policies and the record of actions.
type ResponseStore interface {
	// PutResponsePolicy creates or replaces a policy; created reports
	// whether it was new.
	PutResponsePolicy(ctx context.Context, p ResponsePolicy) (created bool, err error)
	// GetResponsePolicy returns a policy or ErrNotFound.
	GetResponsePolicy(ctx context.Context, name string) (ResponsePolicy, error)
	// ListResponsePolicies returns every policy ordered by name.
	ListResponsePolicies(ctx context.Context) ([]ResponsePolicy, error)
	// DeleteResponsePolicy removes a policy; ErrNotFound if absent.
	DeleteResponsePolicy(ctx context.Context, name string) error
	// AddResponseAction records an action and returns it as stored.
	AddResponseAction(ctx context.Context, a ResponseAction) (ResponseAction, error)
	// ListResponseActions returns a device's actions ("" = every
	// device's), newest first, at most limit (1..MaxResponseActionPage;
	// others mean MaxResponseActionPage).
	ListResponseActions(ctx context.Context, device string, limit int) ([]ResponseAction, error)
}
