package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/centerapi"
	"github.com/moatsec/moat/internal/center/respond"
)

// Security center calls. Every one needs Manage on the namespace ("/").

// query builds a query string from name, value pairs, leaving out empty
// values, and a limit when positive.
func query(limit int, pairs ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// EventFilter selects security events.
type EventFilter struct {
	Device, Name, Source, Since, Until, After string
	Limit                                     int
}

// SecurityEvents returns one page of stored security events, newest first.
func (c *Client) SecurityEvents(ctx context.Context, f EventFilter) (centerapi.EventsPage, error) {
	q := query(f.Limit, "device", f.Device, "name", f.Name, "source", f.Source, "since", f.Since, "until", f.Until, "after", f.After)
	var out centerapi.EventsPage
	return out, c.do(ctx, http.MethodGet, "/api/v1/security/events?"+q.Encode(), "/", nil, nil, &out)
}

// AlertFilter selects alerts.
type AlertFilter struct {
	Rule, Severity, Status, Device, Since, After string
	Limit                                        int
}

// Alerts returns one page of alerts, newest first.
func (c *Client) Alerts(ctx context.Context, f AlertFilter) (centerapi.AlertsPage, error) {
	q := query(f.Limit, "rule", f.Rule, "severity", f.Severity, "status", f.Status, "device", f.Device, "since", f.Since, "after", f.After)
	var out centerapi.AlertsPage
	return out, c.do(ctx, http.MethodGet, "/api/v1/alerts?"+q.Encode(), "/", nil, nil, &out)
}

// Alert returns one alert.
func (c *Client) Alert(ctx context.Context, id string) (center.Alert, error) {
	var out center.Alert
	return out, c.do(ctx, http.MethodGet, "/api/v1/alerts/"+esc(id), "/", nil, nil, &out)
}

// SetAlertStatus dismisses or resolves an alert (action "dismiss" or "resolve").
func (c *Client) SetAlertStatus(ctx context.Context, id, action, reason string) (center.Alert, error) {
	var out center.Alert
	body, hdr := jsonBody(map[string]string{"reason": reason})
	return out, c.do(ctx, http.MethodPost, "/api/v1/alerts/"+esc(id)+"/"+action, "/", body, hdr, &out)
}

// Recommendations returns the posture recommendations and scores as JSON.
func (c *Client) Recommendations(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.do(ctx, http.MethodGet, "/api/v1/recommendations", "/", nil, nil, &out)
}

// Overview returns the security overview of a window ("24h").
func (c *Client) Overview(ctx context.Context, window string) (centerapi.Overview, error) {
	var out centerapi.Overview
	return out, c.do(ctx, http.MethodGet, "/api/v1/security/overview?window="+url.QueryEscape(window), "/", nil, nil, &out)
}

// PutResponsePolicy creates or replaces a response policy.
func (c *Client) PutResponsePolicy(ctx context.Context, p respond.Policy) (respond.Policy, error) {
	var out respond.Policy
	body, hdr := jsonBody(p)
	return out, c.do(ctx, http.MethodPut, "/api/v1/response-policies/"+esc(p.Name), "/", body, hdr, &out)
}

// ResponsePolicies lists the response policies.
func (c *Client) ResponsePolicies(ctx context.Context) ([]respond.Policy, error) {
	var out struct {
		Policies []respond.Policy `json:"policies"`
	}
	return out.Policies, c.do(ctx, http.MethodGet, "/api/v1/response-policies", "/", nil, nil, &out)
}

// ResponsePolicy returns one response policy.
func (c *Client) ResponsePolicy(ctx context.Context, name string) (respond.Policy, error) {
	var out respond.Policy
	return out, c.do(ctx, http.MethodGet, "/api/v1/response-policies/"+esc(name), "/", nil, nil, &out)
}

// DeleteResponsePolicy deletes a response policy.
func (c *Client) DeleteResponsePolicy(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/response-policies/"+esc(name), "/", nil, nil, nil)
}

// ResponseActions lists the responses taken (device "" = all).
func (c *Client) ResponseActions(ctx context.Context, device string, limit int) ([]centerapi.ActionView, error) {
	q := query(limit, "device", device)
	var out struct {
		Actions []centerapi.ActionView `json:"actions"`
	}
	return out.Actions, c.do(ctx, http.MethodGet, "/api/v1/response-actions?"+q.Encode(), "/", nil, nil, &out)
}

// Notifications returns the notification settings (secrets redacted).
func (c *Client) Notifications(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.do(ctx, http.MethodGet, "/api/v1/notifications", "/", nil, nil, &out)
}

// PutNotifications replaces the notification settings.
func (c *Client) PutNotifications(ctx context.Context, cfg []byte) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.do(ctx, http.MethodPut, "/api/v1/notifications", "/", bytes.NewReader(cfg), jsonHeader, &out)
}

// Rules returns the loaded detection rules and rule file problems as JSON.
func (c *Client) Rules(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.do(ctx, http.MethodGet, "/api/v1/rules", "/", nil, nil, &out)
}
