// Package respond carries out automatic responses to alerts: a response
// policy names the alerts it acts on (rule ids, minimum severity, device
// tags) and the action — quarantine: the device's publisher is revoked and
// its token requests refused, through the same operation an operator uses
// (moat device quarantine), with the action recorded (who, why, when).
// Responses are off until a policy exists; `moat device release ID` undoes
// a quarantine.
package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
)

// ActionQuarantine is the only action.
const ActionQuarantine = "quarantine"

// Policy is a response policy (the JSON of PUT /api/v1/response-policies/{name}).
type Policy struct {
	Name string `json:"name"`
	// Rules are the alert rule ids it acts on; empty = every rule.
	Rules []string `json:"rules"`
	// MinSeverity: alerts at least this severe (default High).
	MinSeverity string `json:"minSeverity"`
	// Tags: the device must carry all of them (empty = any device).
	Tags map[string]string `json:"tags,omitempty"`
	// Action: "quarantine".
	Action string `json:"action"`
	// Enabled: a policy acts only when enabled (default true; set false to
	// keep a policy without it acting).
	Enabled *bool `json:"enabled,omitempty"`
	// CreatedAt and UpdatedAt are set by the server.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// IsEnabled reports whether the policy acts.
func (p Policy) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks a policy and fills its defaults.
func (p *Policy) Validate() error {
	var errs []string
	if !validName.MatchString(p.Name) {
		errs = append(errs, fmt.Sprintf("name %q: want [a-z0-9][a-z0-9_-]{0,63}", p.Name))
	}
	if p.MinSeverity == "" {
		p.MinSeverity = center.SeverityHigh
	}
	if center.SeverityRank(p.MinSeverity) < 0 {
		errs = append(errs, fmt.Sprintf("minSeverity %q: want High, Medium, Low or Informational", p.MinSeverity))
	}
	if p.Action != ActionQuarantine {
		errs = append(errs, fmt.Sprintf("action %q: want quarantine", p.Action))
	}
	for _, r := range p.Rules {
		if r == "" || len(r) > 64 {
			errs = append(errs, fmt.Sprintf("rules: %q is not a rule id", r))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Matches reports whether the policy acts on alert a of a device with tags.
func (p Policy) Matches(a center.Alert, tags map[string]string) bool {
	if !p.IsEnabled() || center.SeverityRank(a.Severity) < center.SeverityRank(p.MinSeverity) {
		return false
	}
	if len(p.Rules) > 0 && !slices.Contains(p.Rules, a.Rule) {
		return false
	}
	for k, v := range p.Tags {
		if tags[k] != v {
			return false
		}
	}
	return true
}

// Devices is what a response acts on: the device registry.
type Devices interface {
	// Quarantine revokes the device's publisher and refuses its tokens.
	Quarantine(ctx context.Context, id, reason string) error
	// State returns the device's status and tags.
	State(ctx context.Context, id string) (status string, tags map[string]string, err error)
}

// Store keeps policies and actions.
type Store interface {
	ListResponsePolicies(ctx context.Context) ([]store.ResponsePolicy, error)
	AddResponseAction(ctx context.Context, a store.ResponseAction) (store.ResponseAction, error)
}

// Responder applies the policies to alerts. Safe for concurrent use.
type Responder struct {
	store   Store
	devices Devices
	logger  *slog.Logger

	mu       sync.Mutex
	policies []Policy
	loaded   bool
}

// New returns a Responder; policies are read from the store on first use
// and again after Reload.
func New(s Store, d Devices, logger *slog.Logger) *Responder {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Responder{store: s, devices: d, logger: logger}
}

// Reload makes the next alert read the policies again (call it when they
// change, on any node: the server does on its change notification).
func (r *Responder) Reload() {
	r.mu.Lock()
	r.loaded = false
	r.mu.Unlock()
}

func (r *Responder) load(ctx context.Context) ([]Policy, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		return r.policies, nil
	}
	stored, err := r.store.ListResponsePolicies(ctx)
	if err != nil {
		return nil, err
	}
	ps := make([]Policy, 0, len(stored))
	for _, sp := range stored {
		var p Policy
		if err := json.Unmarshal(sp.Spec, &p); err != nil {
			r.logger.Error("response policy unreadable; ignored", "policy", sp.Name, "err", err)
			continue
		}
		p.Name = sp.Name
		ps = append(ps, p)
	}
	r.policies, r.loaded = ps, true
	return ps, nil
}

// OnAlert quarantines the alert's device when a policy says so and the
// device is not quarantined already, and records the action.
func (r *Responder) OnAlert(ctx context.Context, a center.Alert, created bool) error {
	if a.DeviceID == "" {
		return nil
	}
	ps, err := r.load(ctx)
	if err != nil || len(ps) == 0 {
		return err
	}
	status, tags, err := r.devices.State(ctx, a.DeviceID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil // not a registered device: nothing to quarantine
		}
		return err
	}
	for _, p := range ps {
		if !p.Matches(a, tags) {
			continue
		}
		if status == store.DeviceQuarantined || status == store.DeviceDisabled {
			return nil // already cut off
		}
		reason := fmt.Sprintf("policy %s: alert %s (%s, %s)", p.Name, a.ID, a.Rule, a.Severity)
		if a.SourceAddress != "" {
			reason += " from " + a.SourceAddress
		}
		if err := r.devices.Quarantine(ctx, a.DeviceID, reason); err != nil {
			return fmt.Errorf("respond: quarantine %s: %w", a.DeviceID, err)
		}
		if _, err := r.store.AddResponseAction(ctx, store.ResponseAction{Device: a.DeviceID, Policy: p.Name, AlertID: a.ID,
			Action: ActionQuarantine, Actor: "response-policy:" + p.Name, Reason: reason}); err != nil {
			r.logger.Error("response taken but not recorded", "device", a.DeviceID, "err", err)
		}
		r.logger.Warn("device quarantined by response policy", "device", a.DeviceID, "policy", p.Name, "alert", a.ID, "rule", a.Rule)
		return nil
	}
	return nil
}

// Names returns the names of the loaded policies (for tests and logs).
func (r *Responder) Names(ctx context.Context) ([]string, error) {
	ps, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out, nil
}
