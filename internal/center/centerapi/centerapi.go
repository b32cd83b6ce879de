// Package centerapi is the security center's REST API: security events,
// alerts, recommendations, the overview, response policies and actions,
// notification settings and the loaded detection rules. Every endpoint
// needs the Manage right on the namespace.
package centerapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/respond"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/internal/store"
)

// Store is the part of the metadata store the API reads and writes.
type Store interface {
	ListSecurityEvents(ctx context.Context, f store.SecurityEventFilter) ([]store.SecurityEvent, error)
	TopSecurityEvents(ctx context.Context, q store.TopQuery) ([]store.TopEntry, error)
	GetAlert(ctx context.Context, id string) (store.Alert, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error)
	SetAlertStatus(ctx context.Context, id, status, reason string) (store.Alert, error)
	CountAlerts(ctx context.Context, since time.Time, bucket time.Duration) ([]store.AlertBucket, error)
	PutResponsePolicy(ctx context.Context, p store.ResponsePolicy) (bool, error)
	GetResponsePolicy(ctx context.Context, name string) (store.ResponsePolicy, error)
	ListResponsePolicies(ctx context.Context) ([]store.ResponsePolicy, error)
	DeleteResponsePolicy(ctx context.Context, name string) error
	ListResponseActions(ctx context.Context, device string, limit int) ([]store.ResponseAction, error)
}

// Posture computes the recommendations and per-device scores.
type Posture interface {
	Recommendations(ctx context.Context) (recs any, scores map[string]int, err error)
}

// Settings reads and writes the notification configuration (JSON; GET
// returns it with secrets redacted).
type Settings interface {
	Notifications(ctx context.Context) (json.RawMessage, error)
	PutNotifications(ctx context.Context, data []byte) (json.RawMessage, error)
}

// Rules lists the loaded detection rules and the problems of the rule files.
type Rules interface {
	Rules() (rules any, problems []string)
}

// Options configure the API.
type Options struct {
	Store     Store
	Posture   Posture
	Settings  Settings
	Rules     Rules
	Authorize func(r *http.Request) error // Manage on "/"
	// PoliciesChanged is called after a response policy changed.
	PoliciesChanged func()
	Clock           func() time.Time
	Logger          *slog.Logger
}

type api struct{ o Options }

// Routes returns the center's routes.
func Routes(o Options) []httpapi.Route {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PoliciesChanged == nil {
		o.PoliciesChanged = func() {}
	}
	a := &api{o: o}
	route := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: httpapi.Handle(o.Logger, func(w http.ResponseWriter, r *http.Request) error {
			if err := o.Authorize(r); err != nil {
				return err
			}
			return fn(w, r)
		})}
	}
	return []httpapi.Route{
		route("GET /api/v1/security/events", a.events),
		route("GET /api/v1/security/overview", a.overview),
		route("GET /api/v1/alerts", a.alerts),
		route("GET /api/v1/alerts/{id}", a.alert),
		route("POST /api/v1/alerts/{id}/dismiss", a.setStatus(center.StatusDismissed)),
		route("POST /api/v1/alerts/{id}/resolve", a.setStatus(center.StatusResolved)),
		route("GET /api/v1/recommendations", a.recommendations),
		route("GET /api/v1/response-policies", a.listPolicies),
		route("PUT /api/v1/response-policies/{name}", a.putPolicy),
		route("GET /api/v1/response-policies/{name}", a.getPolicy),
		route("DELETE /api/v1/response-policies/{name}", a.deletePolicy),
		route("GET /api/v1/response-actions", a.actions),
		route("GET /api/v1/notifications", a.getNotifications),
		route("PUT /api/v1/notifications", a.putNotifications),
		route("GET /api/v1/rules", a.rules),
	}
}

func badQuery(format string, args ...any) error {
	return apierr.BadRequest("invalid_query", format, args...)
}

// timeParam reads an RFC 3339 time or a duration back from now ("24h").
func (a *api) timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return a.o.Clock().Add(-d), nil
	}
	return time.Time{}, badQuery("%s: want an RFC 3339 time or a duration like 24h", name)
}

func limitParam(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badQuery("limit must be 1..%d", max)
	}
	return n, nil
}

func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apierr.Wrap(err, http.StatusNotFound, "not_found", "%v", err)
	case errors.Is(err, store.ErrConflict):
		return apierr.Wrap(err, http.StatusConflict, "conflict", "%v", err)
	}
	return apierr.Unavailable(err, 5*time.Second, "store_unavailable", "the metadata store is unavailable")
}

// EventView is a security event in the API.
type EventView struct {
	ID           string            `json:"id"`
	Device       string            `json:"device,omitempty"`
	Hub          string            `json:"hub,omitempty"`
	Source       string            `json:"source"`
	Name         string            `json:"name"`
	Time         time.Time         `json:"time"`
	LastTime     time.Time         `json:"lastTime"`
	Count        int64             `json:"count"`
	SnapshotMode string            `json:"snapshotMode,omitempty"`
	Change       string            `json:"change,omitempty"`
	Fields       map[string]string `json:"fields"`
	Received     time.Time         `json:"received"`
}

// EventsPage is the body of GET /api/v1/security/events.
type EventsPage struct {
	Events []EventView `json:"events"`
	// Next continues the listing (pass it as ?after=); "" at the end.
	Next string `json:"next,omitempty"`
}

func (a *api) events(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.SecurityEventFilter{Device: q.Get("device"), Name: q.Get("name"), Source: q.Get("source")}
	var err error
	if f.Since, err = a.timeParam(r, "since"); err != nil {
		return err
	}
	if f.Until, err = a.timeParam(r, "until"); err != nil {
		return err
	}
	if f.Limit, err = limitParam(r, 100, store.MaxSecurityEventPage); err != nil {
		return err
	}
	if after := q.Get("after"); after != "" {
		ts, id, ok := strings.Cut(after, "~")
		t, terr := time.Parse(time.RFC3339Nano, ts)
		if !ok || terr != nil {
			return badQuery("after: use the next value of the previous page")
		}
		f.After = store.SecurityEventCursor{Time: t, ID: id}
	}
	evs, err := a.o.Store.ListSecurityEvents(r.Context(), f)
	if err != nil {
		return storeErr(err)
	}
	page := EventsPage{Events: make([]EventView, len(evs))}
	for i, e := range evs {
		fields := e.Fields
		delete(fields, "_key")
		page.Events[i] = EventView{ID: e.ID, Device: e.Device, Hub: e.Hub, Source: e.Source, Name: e.Name, Time: e.Time, LastTime: e.LastTime,
			Count: e.Count, SnapshotMode: e.SnapshotMode, Change: e.Change, Fields: fields, Received: e.Received}
	}
	if len(evs) == f.Limit && len(evs) > 0 {
		last := evs[len(evs)-1]
		page.Next = last.Time.UTC().Format(time.RFC3339Nano) + "~" + last.ID
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
	return nil
}

// AlertsPage is the body of GET /api/v1/alerts.
type AlertsPage struct {
	Alerts []center.Alert `json:"alerts"`
	Next   string         `json:"next,omitempty"` // pass as ?after=
}

func (a *api) alerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.AlertFilter{Rule: q.Get("rule"), Severity: q.Get("severity"), Status: q.Get("status"), Device: q.Get("device"), After: q.Get("after")}
	if f.Severity != "" && center.SeverityRank(f.Severity) < 0 {
		return badQuery("severity: want High, Medium, Low or Informational")
	}
	switch f.Status {
	case "", store.AlertOpen, center.StatusNew, center.StatusActive, center.StatusDismissed, center.StatusResolved:
	default:
		return badQuery("status: want open, new, active, dismissed or resolved")
	}
	var err error
	if f.Since, err = a.timeParam(r, "since"); err != nil {
		return err
	}
	if f.Limit, err = limitParam(r, 100, store.MaxAlertPage); err != nil {
		return err
	}
	as, err := a.o.Store.ListAlerts(r.Context(), f)
	if err != nil {
		return storeErr(err)
	}
	page := AlertsPage{Alerts: make([]center.Alert, len(as))}
	for i, al := range as {
		page.Alerts[i] = center.AlertFromStore(al)
	}
	if len(as) == f.Limit && len(as) > 0 {
		page.Next = as[len(as)-1].ID
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (a *api) alert(w http.ResponseWriter, r *http.Request) error {
	al, err := a.o.Store.GetAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, center.AlertFromStore(al))
	return nil
}

type statusBody struct {
	Reason string `json:"reason"`
}

func (a *api) setStatus(status string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var b statusBody
		if r.ContentLength != 0 {
			if err := httpapi.DecodeJSON(w, r, &b); err != nil {
				return err
			}
		}
		if len(b.Reason) > 1000 {
			return apierr.BadRequest("invalid_body", "reason over 1000 bytes")
		}
		al, err := a.o.Store.SetAlertStatus(r.Context(), r.PathValue("id"), status, b.Reason)
		if err != nil {
			return storeErr(err)
		}
		httpapi.WriteJSON(w, http.StatusOK, center.AlertFromStore(al))
		return nil
	}
}

func (a *api) recommendations(w http.ResponseWriter, r *http.Request) error {
	if a.o.Posture == nil {
		return apierr.New(http.StatusServiceUnavailable, "center_disabled", "the security center is not running on this node")
	}
	recs, scores, err := a.o.Posture.Recommendations(r.Context())
	if err != nil {
		return storeErr(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"recommendations": recs, "scores": scores})
	return nil
}

// Overview is the body of GET /api/v1/security/overview.
type Overview struct {
	Window         string              `json:"window"`
	Since          time.Time           `json:"since"`
	MostAttacked   []store.TopEntry    `json:"mostAttackedDevices"`
	TopSources     []store.TopEntry    `json:"topAttackingSources"`
	AlertsOverTime []store.AlertBucket `json:"alertsBySeverityOverTime"`
	BucketSeconds  int64               `json:"bucketSeconds"`
	OpenAlerts     map[string]int      `json:"openAlertsBySeverity"`
	PostureScores  map[string]int      `json:"postureScores,omitempty"`
}

func (a *api) overview(w http.ResponseWriter, r *http.Request) error {
	window := 24 * time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 90*24*time.Hour {
			return badQuery("window: a duration from 1m to 2160h")
		}
		window = d
	}
	ctx := r.Context()
	since := a.o.Clock().Add(-window)
	o := Overview{Window: window.String(), Since: since, OpenAlerts: map[string]int{}}
	var err error
	if o.MostAttacked, err = a.o.Store.TopSecurityEvents(ctx, store.TopQuery{Name: "Login", Result: "Fail", Since: since, By: store.TopByDevice, Limit: 10}); err != nil {
		return storeErr(err)
	}
	if o.TopSources, err = a.o.Store.TopSecurityEvents(ctx, store.TopQuery{Name: "Login", Result: "Fail", Since: since, By: store.TopByRemoteAddress, Limit: 10}); err != nil {
		return storeErr(err)
	}
	bucket := max(window/24, time.Minute).Truncate(time.Minute)
	o.BucketSeconds = int64(bucket / time.Second)
	if o.AlertsOverTime, err = a.o.Store.CountAlerts(ctx, since, bucket); err != nil {
		return storeErr(err)
	}
	open, err := a.o.Store.ListAlerts(ctx, store.AlertFilter{Status: store.AlertOpen, Limit: store.MaxAlertPage})
	if err != nil {
		return storeErr(err)
	}
	for _, al := range open {
		o.OpenAlerts[al.Severity]++
	}
	if a.o.Posture != nil {
		if _, scores, err := a.o.Posture.Recommendations(ctx); err == nil {
			o.PostureScores = scores
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, o)
	return nil
}

func policyFromStore(sp store.ResponsePolicy) (respond.Policy, error) {
	var p respond.Policy
	if err := json.Unmarshal(sp.Spec, &p); err != nil {
		return p, err
	}
	p.Name, p.CreatedAt, p.UpdatedAt = sp.Name, sp.CreatedAt, sp.UpdatedAt
	return p, nil
}

func (a *api) listPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.o.Store.ListResponsePolicies(r.Context())
	if err != nil {
		return storeErr(err)
	}
	out := make([]respond.Policy, 0, len(ps))
	for _, sp := range ps {
		if p, err := policyFromStore(sp); err == nil {
			out = append(out, p)
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"policies": out})
	return nil
}

func (a *api) putPolicy(w http.ResponseWriter, r *http.Request) error {
	var p respond.Policy
	if err := httpapi.DecodeJSON(w, r, &p); err != nil {
		return err
	}
	if p.Name != "" && p.Name != r.PathValue("name") {
		return apierr.BadRequest("invalid_policy", "name %q in the body differs from the path", p.Name)
	}
	p.Name = r.PathValue("name")
	if err := p.Validate(); err != nil {
		return apierr.BadRequest("invalid_policy", "%v", err)
	}
	p.CreatedAt, p.UpdatedAt = time.Time{}, time.Time{}
	spec, _ := json.Marshal(p)
	created, err := a.o.Store.PutResponsePolicy(r.Context(), store.ResponsePolicy{Name: p.Name, Spec: spec})
	if err != nil {
		return storeErr(err)
	}
	a.o.PoliciesChanged()
	sp, err := a.o.Store.GetResponsePolicy(r.Context(), p.Name)
	if err != nil {
		return storeErr(err)
	}
	out, _ := policyFromStore(sp)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, out)
	return nil
}

func (a *api) getPolicy(w http.ResponseWriter, r *http.Request) error {
	sp, err := a.o.Store.GetResponsePolicy(r.Context(), r.PathValue("name"))
	if err != nil {
		return storeErr(err)
	}
	p, err := policyFromStore(sp)
	if err != nil {
		return apierr.Wrap(err, http.StatusInternalServerError, "corrupt_policy", "stored policy %q is not valid JSON", sp.Name)
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	if err := a.o.Store.DeleteResponsePolicy(r.Context(), r.PathValue("name")); err != nil {
		return storeErr(err)
	}
	a.o.PoliciesChanged()
	w.WriteHeader(http.StatusOK)
	return nil
}

// ActionView is a response action in the API.
type ActionView struct {
	ID      string    `json:"id"`
	Device  string    `json:"device"`
	Policy  string    `json:"policy,omitempty"`
	AlertID string    `json:"alertId,omitempty"`
	Action  string    `json:"action"`
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

func (a *api) actions(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r, 100, store.MaxResponseActionPage)
	if err != nil {
		return err
	}
	as, err := a.o.Store.ListResponseActions(r.Context(), r.URL.Query().Get("device"), limit)
	if err != nil {
		return storeErr(err)
	}
	out := make([]ActionView, len(as))
	for i, x := range as {
		out[i] = ActionView{ID: x.ID, Device: x.Device, Policy: x.Policy, AlertID: x.AlertID, Action: x.Action, Actor: x.Actor, Reason: x.Reason, At: x.At}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"actions": out})
	return nil
}

func (a *api) getNotifications(w http.ResponseWriter, r *http.Request) error {
	if a.o.Settings == nil {
		return apierr.New(http.StatusServiceUnavailable, "center_disabled", "the security center is not running on this node")
	}
	data, err := a.o.Settings.Notifications(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
	return nil
}

func (a *api) putNotifications(w http.ResponseWriter, r *http.Request) error {
	if a.o.Settings == nil {
		return apierr.New(http.StatusServiceUnavailable, "center_disabled", "the security center is not running on this node")
	}
	var raw json.RawMessage
	if err := httpapi.DecodeJSON(w, r, &raw); err != nil {
		return err
	}
	data, err := a.o.Settings.PutNotifications(r.Context(), raw)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
	return nil
}

func (a *api) rules(w http.ResponseWriter, r *http.Request) error {
	if a.o.Rules == nil {
		return apierr.New(http.StatusServiceUnavailable, "center_disabled", "the security center is not running on this node")
	}
	rules, problems := a.o.Rules.Rules()
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"rules": rules, "problems": problems})
	return nil
}
