package discoveryapi

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"log/slog"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/discovery"
	"github.com/moatsec/moat/internal/hub/httpapi"
)

// Authorizer checks an operator's SAS token for Manage on the namespace.
type Authorizer func(r *http.Request) error

// AuditLog is where decisions are read back from.
type AuditLog interface {
	Query(r *http.Request, device, result string, since time.Time, limit int) ([]discovery.Decision, error)
}

// API serves the discovery endpoints.
type API struct {
	svc            *discovery.Service
	audit          AuditLog
	manage         Authorizer
	trustedProxies []netip.Prefix
	now            func() time.Time
}

// New returns the API.
func New(svc *discovery.Service, audit AuditLog, manage Authorizer, trustedProxies []netip.Prefix, now func() time.Time) *API {
	if now == nil {
		now = time.Now
	}
	return &API{svc: svc, audit: audit, manage: manage, trustedProxies: trustedProxies, now: now}
}

// Routes returns the endpoints, to be served with the hub's API (one
// listener, one error format, one set of metrics).
func (a *API) Routes(log *slog.Logger) []httpapi.Route {
	return []httpapi.Route{
		{Pattern: "POST /api/v1/discovery/token", Handler: httpapi.Handle(log, a.token)},
		{Pattern: "GET /api/v1/discovery/audit", Handler: httpapi.Handle(log, a.auditQuery)},
	}
}

func (a *API) token(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	body, err := ParseTokenRequest(data)
	if err != nil {
		return err
	}
	src, err := SourceAddr(r, a.trustedProxies)
	if err != nil {
		return err
	}
	g, err := a.svc.Issue(r.Context(), discovery.Request{
		Authorization: r.Header.Get("Authorization"),
		Thumbprint:    Thumbprint(r),
		Source:        src,
		Location:      body.Location,
		Firmware:      body.Firmware,
		Metadata:      body.Metadata,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // a token
	httpapi.WriteJSON(w, http.StatusOK, g)
	return nil
}

// Audit query limits.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
	defaultAuditSince = 24 * time.Hour
)

func (a *API) auditQuery(w http.ResponseWriter, r *http.Request) error {
	if err := a.manage(r); err != nil {
		return err
	}
	q := r.URL.Query()
	limit := defaultAuditLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAuditLimit {
			return apierr.BadRequest("invalid_query", "limit must be 1..%d", maxAuditLimit)
		}
		limit = n
	}
	since := a.now().Add(-defaultAuditSince)
	if s := q.Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			since = t
		} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
			since = a.now().Add(-d)
		} else {
			return apierr.BadRequest("invalid_query", "since must be an RFC 3339 time or a duration like 1h")
		}
	}
	ds, err := a.audit.Query(r, q.Get("device"), q.Get("result"), since, limit)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []discovery.Decision{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"decisions": ds})
	return nil
}
