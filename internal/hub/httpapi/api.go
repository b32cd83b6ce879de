// Package httpapi is the HTTP front door of the hub: the Event Hubs–compatible
// REST paths (send, revoked publishers), the read API with consumer-group
// checkpoints, and the admin JSON API under /api/v1. It only adapts HTTP to
// hub.Core; authorization and publishing live there.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/sas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configures the API.
type Options struct {
	MaxBody     int           // largest send body, after decompression (default 1 MiB)
	ReadMaxWait time.Duration // cap on the read long-poll (default 60s)
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	Gatherer    prometheus.Gatherer // serves /metrics; nil = no metrics endpoint
	Ready       func() bool         // /healthz answers 200 only when it returns true
	// Extra are routes of other services (the device registry, discovery)
	// served on the same listener, with the same metrics and JSON 404/405.
	Extra []Route
	// AuthFailures, if set, is told of every request refused by
	// authorization on a hub (for the security stream). It must not block.
	AuthFailures func(hub.AuthFailure)
}

// Route is an extra endpoint: a ServeMux pattern such as
// "GET /api/v1/devices/{id}" and its handler. Handle builds handlers that
// answer errors the way the API does.
type Route struct {
	Pattern string
	Handler http.Handler
}

// API is the hub's HTTP handler.
type API struct {
	core *hub.Core
	o    Options
	mux  *http.ServeMux
	dur  *prometheus.HistogramVec
}

// New returns the API handler.
func New(core *hub.Core, o Options) (*API, error) {
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.ReadMaxWait <= 0 {
		o.ReadMaxWait = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Ready == nil {
		o.Ready = func() bool { return true }
	}
	a := &API{core: core, o: o, mux: http.NewServeMux()}
	a.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "moat", Subsystem: "http", Name: "request_duration_seconds",
		Help:    "HTTP request latency by route pattern and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
	}, []string{"route", "code"})
	if err := o.Registerer.Register(a.dur); err != nil {
		return nil, fmt.Errorf("httpapi: register metrics: %w", err)
	}
	a.routes()
	return a, nil
}

func (a *API) routes() {
	m := a.mux
	m.HandleFunc("GET /healthz", a.healthz)
	if a.o.Gatherer != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(a.o.Gatherer, promhttp.HandlerOpts{}))
	}
	// Event Hubs paths.
	m.Handle("POST /{hub}/messages", a.h(a.sendHub))
	m.Handle("POST /{hub}/publishers/{publisher}/messages", a.h(a.sendPublisher))
	m.Handle("POST /{hub}/partitions/{partition}/messages", a.h(a.sendPartition))
	m.Handle("GET /{hub}/revokedpublishers", a.h(a.listRevoked))
	m.Handle("PUT /{hub}/revokedpublishers/{publisher}", a.h(a.revoke))
	m.Handle("DELETE /{hub}/revokedpublishers/{publisher}", a.h(a.restore))
	// Read API.
	m.Handle("GET /{hub}/partitions/{partition}", a.h(a.partitionInfo))
	m.Handle("GET /{hub}/partitions/{partition}/events", a.h(a.readEvents))
	m.Handle("GET /{hub}/security", a.h(a.readSecurity))
	m.Handle("PUT /{hub}/consumergroups/{group}/checkpoints/{partition}", a.h(a.putCheckpoint))
	m.Handle("GET /{hub}/consumergroups/{group}/checkpoints/{partition}", a.h(a.getCheckpoint))
	// Admin API.
	m.Handle("GET /api/v1/hubs", a.h(a.listHubs))
	m.Handle("PUT /api/v1/hubs/{hub}", a.h(a.putHub))
	m.Handle("GET /api/v1/hubs/{hub}", a.h(a.getHub))
	m.Handle("DELETE /api/v1/hubs/{hub}", a.h(a.deleteHub))
	for _, prefix := range []string{"/api/v1", "/api/v1/hubs/{hub}"} {
		m.Handle("GET "+prefix+"/authorizationRules", a.h(a.listRules))
		m.Handle("PUT "+prefix+"/authorizationRules/{rule}", a.h(a.putRule))
		m.Handle("GET "+prefix+"/authorizationRules/{rule}", a.h(a.getRule))
		m.Handle("DELETE "+prefix+"/authorizationRules/{rule}", a.h(a.deleteRule))
		m.Handle("POST "+prefix+"/authorizationRules/{rule}/regenerateKeys", a.h(a.regenerate))
		m.Handle("GET "+prefix+"/authorizationRules/{rule}/listKeys", a.h(a.listKeys))
		m.Handle("POST "+prefix+"/authorizationRules/{rule}/listKeys", a.h(a.listKeys))
	}
	for _, r := range a.o.Extra {
		m.Handle(r.Pattern, r.Handler)
	}
}

// ServeHTTP records the request's latency under its route pattern. Requests
// no route matches get the same JSON error body as every other error.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	if h, pattern := a.mux.Handler(r); pattern == "" {
		a.unmatched(sw, r, h)
	} else {
		a.mux.ServeHTTP(sw, r)
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	a.dur.WithLabelValues(route, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
}

// unmatched answers a request no route matches: 404 not_found, or 405
// method_not_allowed with the Allow header the mux computed.
func (a *API) unmatched(w http.ResponseWriter, r *http.Request, muxHandler http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	muxHandler.ServeHTTP(probe, r)
	if probe.code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		apierr.Write(w, nil, apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	apierr.Write(w, nil, apierr.NotFound("not_found", "no such endpoint: %s %s", r.Method, r.URL.Path))
}

// headerProbe captures what the mux's own not-found/405 handler would send.
type headerProbe struct {
	header http.Header
	code   int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.code = code }

// h adapts a handler that returns an error; errors are written once, here.
func (a *API) h(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return Handle(a.o.Logger, fn)
}

// Handle adapts a handler that returns an error: the error is written as
// the API's JSON error body (apierr.Write, logging 5xx causes to log).
func Handle(log *slog.Logger, fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			if errors.Is(err, errClientGone) {
				return
			}
			apierr.Write(w, log, err)
		}
	})
}

var errClientGone = errors.New("client went away")

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	if !a.o.Ready() {
		apierr.Write(w, nil, apierr.Unavailable(nil, time.Second, "not_ready", "starting or stopping"))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// authorize checks the request's SAS token for right on resource.
func (a *API) authorize(r *http.Request, resource string, right hub.Right) (hub.Principal, error) {
	p, err := a.core.Authorize(r.Header.Get("Authorization"), resource, right)
	if err != nil {
		a.reportAuthFailure(r, resource, err)
	}
	return p, err
}

// reportAuthFailure tells AuthFailures of a refusal on a hub's resource.
func (a *API) reportAuthFailure(r *http.Request, resource string, err error) {
	if a.o.AuthFailures == nil {
		return
	}
	parts := strings.Split(strings.TrimPrefix(resource, "/"), "/")
	if len(parts) == 0 || parts[0] == "" {
		return // namespace-level: no hub to file it under
	}
	f := hub.AuthFailure{Time: time.Now().UTC(), Hub: parts[0], Reason: apierr.As(err).Reason}
	if len(parts) >= 3 && parts[1] == "publishers" {
		f.Publisher = parts[2]
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		f.SourceAddress = host
	}
	if tok, err := sas.Parse(r.Header.Get("Authorization")); err == nil {
		f.KeyName = tok.KeyName
	}
	a.o.AuthFailures(f)
}

// canonical path pieces from the URL.
func hubParam(r *http.Request) (string, error) { return hub.CanonicalHub(r.PathValue("hub")) }

// hubAndPartition reads the {hub} and {partition} path values.
func hubAndPartition(r *http.Request) (string, int, error) {
	h, err := hubParam(r)
	if err != nil {
		return "", 0, err
	}
	p, err := partitionParam(r)
	return h, p, err
}

func partitionParam(r *http.Request) (int, error) {
	p, err := strconv.Atoi(r.PathValue("partition"))
	if err != nil || p < 0 || p >= hub.MaxPartitions {
		return 0, apierr.BadRequest("invalid_partition", "partition must be an integer 0..%d", hub.MaxPartitions-1)
	}
	return p, nil
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxAdminBody bounds admin and checkpoint request bodies.
const maxAdminBody = 64 << 10

// DecodeJSON reads a small JSON request body (at most 64 KiB) into v
// strictly: unknown fields, trailing data and oversized bodies are
// 400 bad_json or 413 body_too_large.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxAdminBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", "request body over %d bytes", maxAdminBody)
		}
		if errors.Is(err, io.EOF) {
			return apierr.BadRequest("bad_json", "request body is empty; a JSON object is required")
		}
		return apierr.BadRequest("bad_json", "request body: %v", err)
	}
	if dec.More() {
		return apierr.BadRequest("bad_json", "request body: unexpected data after the JSON object")
	}
	return nil
}

// statusWriter remembers the status code for metrics.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func resourceOf(parts ...string) string { return "/" + strings.Join(parts, "/") }
