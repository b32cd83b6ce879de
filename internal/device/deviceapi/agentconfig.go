package deviceapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub/httpapi"
)

// maxAgentConfig bounds an agent configuration body.
const maxAgentConfig = 64 << 10

func readConfigBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAgentConfig))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", "agent configuration over %d bytes", maxAgentConfig)
	} else if err != nil {
		return nil, apierr.BadRequest("bad_body", "reading body: %v", err)
	}
	return data, nil
}

// getAgentConfig answers a device's agent (with the device's own publisher
// token) or an operator (Manage). The device's existence is revealed only
// to a caller with Manage, or after its token was checked.
func (a *api) getAgentConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r); err != nil {
		// Not an operator: maybe the device itself.
		d, lerr := a.svc.Get(r.Context(), r.PathValue("id"))
		if lerr != nil || a.authorizeDevice == nil {
			return err // the Manage refusal; says nothing about the device
		}
		if derr := a.authorizeDevice(r, d.Hub, d.ID); derr != nil {
			return derr
		}
	}
	c, err := a.svc.AgentConfig(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+c.Version+`"`)
	if match := r.Header.Get("If-None-Match"); match == `"`+c.Version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (a *api) getFleetAgentConfig(w http.ResponseWriter, r *http.Request) error {
	l, err := a.svc.FleetAgentConfig(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) putFleetAgentConfig(w http.ResponseWriter, r *http.Request) error {
	data, err := readConfigBody(w, r)
	if err != nil {
		return err
	}
	l, err := a.svc.PutFleetAgentConfig(r.Context(), data)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) putDeviceAgentConfig(w http.ResponseWriter, r *http.Request) error {
	data, err := readConfigBody(w, r)
	if err != nil {
		return err
	}
	l, err := a.svc.PutDeviceAgentConfig(r.Context(), r.PathValue("id"), data)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) deleteDeviceAgentConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.DeleteDeviceAgentConfig(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
