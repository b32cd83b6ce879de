// Package deviceapi is the device registry's admin HTTP API under
// /api/v1/devices: create, read, list, delete, rotate keys, quarantine and
// release devices, and import or export the registry. Every endpoint needs
// a namespace token with Manage. It only adapts HTTP to device.Service and
// is mounted on the hub's listener through httpapi.Options.Extra.
package deviceapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
)

// MaxImportBody bounds the body of an import.
const MaxImportBody = 64 << 20

// api serves the routes.
type api struct {
	svc             *device.Service
	authorize       func(r *http.Request) error
	authorizeDevice func(r *http.Request, hub, id string) error
	record          ActionRecorder
	log             *slog.Logger
}

// ActionRecorder is told of each quarantine and release made through the
// API, after it took effect: action is "quarantine" or "release", reason
// the operator's (empty for a release). r is the request, for its
// credentials (who did it).
type ActionRecorder func(r *http.Request, action, device, reason string)

// Routes returns the registry's routes. authorize must refuse a request that
// may not administer devices (the server requires Manage on "/"); its error
// is the answer. log receives the causes of 5xx answers.
//
// GET /api/v1/devices/{id}/agent-config also accepts the device's own
// publisher token: authorizeDevice checks that the request's token may send
// as publisher id of hub. record, when not nil, is told of quarantines and
// releases.
func Routes(svc *device.Service, authorize func(r *http.Request) error, authorizeDevice func(r *http.Request, hub, id string) error, record ActionRecorder, log *slog.Logger) []httpapi.Route {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{svc: svc, authorize: authorize, authorizeDevice: authorizeDevice, record: record, log: log}
	route := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: httpapi.Handle(log, a.authorized(fn))}
	}
	return []httpapi.Route{
		route("GET /api/v1/devices", a.list),
		route("PUT /api/v1/devices/{id}", a.put),
		route("GET /api/v1/devices/{id}", a.get),
		route("DELETE /api/v1/devices/{id}", a.delete),
		route("POST /api/v1/devices/{id}/rotateKey", a.rotateKey),
		route("POST /api/v1/devices/{id}/quarantine", a.quarantine),
		route("POST /api/v1/devices/{id}/release", a.release),
		route("POST /api/v1/devices:import", a.importDevices),
		route("GET /api/v1/devices:export", a.exportDevices),
		route("GET /api/v1/agent-config", a.getFleetAgentConfig),
		route("PUT /api/v1/agent-config", a.putFleetAgentConfig),
		route("PUT /api/v1/devices/{id}/agent-config", a.putDeviceAgentConfig),
		route("DELETE /api/v1/devices/{id}/agent-config", a.deleteDeviceAgentConfig),
		// Manage, or the device itself with its publisher token.
		{Pattern: "GET /api/v1/devices/{id}/agent-config", Handler: httpapi.Handle(log, a.getAgentConfig)},
	}
}

// authorized checks the token before anything else, so nothing about the
// registry (not even whether an ID is valid) is told to a caller without
// Manage.
func (a *api) authorized(fn func(w http.ResponseWriter, r *http.Request) error) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := a.authorize(r); err != nil {
			return err
		}
		return fn(w, r)
	}
}

func (a *api) put(w http.ResponseWriter, r *http.Request) error {
	var d device.Device
	if err := httpapi.DecodeJSON(w, r, &d); err != nil {
		return err
	}
	v, created, err := a.svc.Put(r.Context(), r.PathValue("id"), d)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, v)
	return nil
}

func (a *api) get(w http.ResponseWriter, r *http.Request) error {
	v, err := a.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) delete(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (a *api) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := device.Filter{Status: q.Get("status"), Hub: q.Get("hub"), After: q.Get("after")}
	f.TagKey, f.TagValue, _ = strings.Cut(q.Get("tag"), "=")
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > device.MaxPageSize {
			return apierr.BadRequest("invalid_query", "limit must be an integer 1..%d", device.MaxPageSize)
		}
		f.Limit = n
	}
	p, err := a.svc.List(r.Context(), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

type rotateKeyBody struct {
	KeyType hub.KeyType `json:"keyType"`
}

func (a *api) rotateKey(w http.ResponseWriter, r *http.Request) error {
	var body rotateKeyBody
	if err := httpapi.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	v, err := a.svc.RotateKey(r.Context(), r.PathValue("id"), body.KeyType)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

type quarantineBody struct {
	Reason string `json:"reason"`
}

func (a *api) quarantine(w http.ResponseWriter, r *http.Request) error {
	var body quarantineBody
	if r.ContentLength != 0 {
		if err := httpapi.DecodeJSON(w, r, &body); err != nil {
			return err
		}
	}
	v, err := a.svc.Quarantine(r.Context(), r.PathValue("id"), body.Reason)
	if err != nil {
		return err
	}
	if a.record != nil {
		a.record(r, "quarantine", v.ID, body.Reason)
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) release(w http.ResponseWriter, r *http.Request) error {
	v, err := a.svc.Release(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if a.record != nil {
		a.record(r, "release", v.ID, "")
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) importDevices(w http.ResponseWriter, r *http.Request) error {
	n, err := a.svc.Import(r.Context(), r.URL.Query().Get("format"), http.MaxBytesReader(w, r.Body, MaxImportBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", "import body over %d bytes", MaxImportBody)
	case errors.Is(err, device.ErrReadImport):
		return apierr.Wrap(err, http.StatusBadRequest, "bad_body", "the request body could not be read")
	case err != nil:
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]int{"imported": n})
	return nil
}

// contentTypes of the export formats.
var contentTypes = map[string]string{
	device.FormatCSV:   "text/csv; charset=utf-8",
	device.FormatJSONL: "application/x-ndjson",
}

func (a *api) exportDevices(w http.ResponseWriter, r *http.Request) error {
	format, err := device.CheckFormat(r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	sw := &startWriter{w: w, contentType: contentTypes[format]}
	err = a.svc.Export(r.Context(), format, sw)
	if err == nil {
		sw.start() // an empty JSONL export has no bytes to start it
		return nil
	}
	if !sw.started {
		return err
	}
	// The 200 and part of the export are sent: end the response abruptly
	// so that the client sees a failed transfer, not a short export.
	a.log.Error("device export failed after the response started", "err", err)
	panic(http.ErrAbortHandler)
}

// startWriter sends the export's headers with its first bytes, so an error
// before any device is read can still be a JSON error response.
type startWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (s *startWriter) Write(b []byte) (int, error) {
	s.start()
	return s.w.Write(b)
}

func (s *startWriter) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", s.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	s.w.WriteHeader(http.StatusOK)
}
