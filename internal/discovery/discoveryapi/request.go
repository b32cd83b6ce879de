// Package discoveryapi is the HTTP front door of the discovery service:
// POST /api/v1/discovery/token for devices and
// GET /api/v1/discovery/audit for operators.
package discoveryapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/discovery"
	"github.com/moatsec/moat/internal/discovery/geo"
)

// Limits on a token request body.
const (
	MaxBodyBytes    = 64 << 10
	maxFirmware     = 256
	maxMetadataKeys = 32
)

// TokenRequest is the optional JSON body of a token request.
type TokenRequest struct {
	Location *geo.Point     `json:"location,omitempty"`
	Firmware string         `json:"firmware,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func invalid(format string, args ...any) error {
	return apierr.BadRequest(discovery.CodeInvalidRequest, format, args...)
}

// ParseTokenRequest parses and validates a token request body; an empty body
// is an empty request. Every error is 400 invalid_request.
func ParseTokenRequest(data []byte) (TokenRequest, error) {
	var req TokenRequest
	if len(bytes.TrimSpace(data)) == 0 {
		return req, nil
	}
	if len(data) > MaxBodyBytes {
		return req, invalid("request body over %d bytes", MaxBodyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return TokenRequest{}, invalid("request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return TokenRequest{}, invalid("request body: unexpected data after the JSON object")
	}
	if req.Location != nil {
		if err := req.Location.Valid(); err != nil {
			return TokenRequest{}, invalid("location: %v", err)
		}
	}
	if len(req.Firmware) > maxFirmware {
		return TokenRequest{}, invalid("firmware: at most %d bytes", maxFirmware)
	}
	if len(req.Metadata) > maxMetadataKeys {
		return TokenRequest{}, invalid("metadata: at most %d keys", maxMetadataKeys)
	}
	return req, nil
}

// readBody reads at most MaxBodyBytes+1 bytes of the request body.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, invalid("reading body: %v", err)
	}
	if len(data) > MaxBodyBytes {
		return nil, invalid("request body over %d bytes", MaxBodyBytes)
	}
	return data, nil
}

// Thumbprint returns the lower-case hex SHA-256 of the request's TLS client
// certificate, or "".
func Thumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

// SourceAddr is the client's address: the TCP peer, or — when the peer is
// a trusted proxy — the right-most X-Forwarded-For address that is not a
// trusted proxy itself.
func SourceAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, error) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, errors.New("unparseable peer address")
	}
	addr := ap.Addr().Unmap()
	if !inPrefixes(addr, trusted) {
		return addr, nil
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{}, invalid("X-Forwarded-For: %q is not an IP address", h)
		}
		a = a.Unmap()
		if !inPrefixes(a, trusted) {
			return a, nil
		}
		addr = a
	}
	return addr, nil
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
