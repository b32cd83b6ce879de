package discoveryapi

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/discovery"
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

// Handlers returns the routes (method and pattern) and their handlers.
func (a *API) Handlers() map[string]http.Handler {
	return map[string]http.Handler{
		"POST /api/v1/discovery/token": handler(a.token),
		"GET /api/v1/discovery/audit":  handler(a.auditQuery),
	}
}

func handler(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			apierr.Write(w, nil, err)
		}
	})
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
	writeJSON(w, http.StatusOK, g)
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
	writeJSON(w, http.StatusOK, map[string]any{"decisions": ds})
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
