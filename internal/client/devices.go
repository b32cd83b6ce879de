package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/discovery"
	"github.com/moatsec/moat/internal/hub"
)

// Device registry calls. Every one needs Manage on the namespace ("/").

func devicePath(id string) string { return "/api/v1/devices/" + esc(id) }

// PutDevice creates or replaces a device and returns it with its keys.
func (c *Client) PutDevice(ctx context.Context, id string, d device.Device) (device.Device, error) {
	var out device.Device
	body, hdr := jsonBody(d)
	return out, c.do(ctx, http.MethodPut, devicePath(id), "/", body, hdr, &out)
}

// GetDevice returns a device with its keys.
func (c *Client) GetDevice(ctx context.Context, id string) (device.Device, error) {
	var out device.Device
	return out, c.do(ctx, http.MethodGet, devicePath(id), "/", nil, nil, &out)
}

// ListDevices returns one page of devices (without keys).
func (c *Client) ListDevices(ctx context.Context, f device.Filter) (device.Page, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "hub": f.Hub, "after": f.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.TagKey != "" {
		tag := f.TagKey
		if f.TagValue != "" {
			tag += "=" + f.TagValue
		}
		q.Set("tag", tag)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p device.Page
	return p, c.do(ctx, http.MethodGet, "/api/v1/devices?"+q.Encode(), "/", nil, nil, &p)
}

// DeleteDevice deletes a device.
func (c *Client) DeleteDevice(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, devicePath(id), "/", nil, nil, nil)
}

// RotateDeviceKey replaces a device's PrimaryKey or SecondaryKey.
func (c *Client) RotateDeviceKey(ctx context.Context, id string, which hub.KeyType) (device.Device, error) {
	var out device.Device
	body, hdr := jsonBody(map[string]any{"keyType": which})
	return out, c.do(ctx, http.MethodPost, devicePath(id)+"/rotateKey", "/", body, hdr, &out)
}

// QuarantineDevice quarantines a device.
func (c *Client) QuarantineDevice(ctx context.Context, id, reason string) (device.Device, error) {
	var out device.Device
	body, hdr := jsonBody(map[string]any{"reason": reason})
	return out, c.do(ctx, http.MethodPost, devicePath(id)+"/quarantine", "/", body, hdr, &out)
}

// ReleaseDevice ends a device's quarantine.
func (c *Client) ReleaseDevice(ctx context.Context, id string) (device.Device, error) {
	var out device.Device
	return out, c.do(ctx, http.MethodPost, devicePath(id)+"/release", "/", nil, nil, &out)
}

// ImportDevices uploads devices in format (csv or jsonl) and returns how
// many were imported.
func (c *Client) ImportDevices(ctx context.Context, format string, r io.Reader) (int, error) {
	var out struct {
		Imported int `json:"imported"`
	}
	hdr := http.Header{"Content-Type": {importContentType(format)}}
	err := c.do(ctx, http.MethodPost, "/api/v1/devices:import?format="+url.QueryEscape(format), "/", r, hdr, &out)
	return out.Imported, err
}

func importContentType(format string) string {
	if format == device.FormatCSV {
		return "text/csv"
	}
	return "application/x-ndjson"
}

// ExportDevices streams every device, with its keys, in format (csv or
// jsonl) to w.
func (c *Client) ExportDevices(ctx context.Context, format string, w io.Writer) error {
	return c.stream(ctx, "/api/v1/devices:export?format="+url.QueryEscape(format), "/", func(body io.Reader) error {
		if _, err := io.Copy(w, body); err != nil {
			return fmt.Errorf("client: export devices: %w", err)
		}
		return nil
	})
}

// AuditDecisions returns recorded token decisions, oldest first; device and
// result "" match any, since "" means the server's default (24 h).
func (c *Client) AuditDecisions(ctx context.Context, device, result, since string, limit int) ([]discovery.Decision, error) {
	q := url.Values{}
	for k, v := range map[string]string{"device": device, "result": result, "since": since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Decisions []discovery.Decision `json:"decisions"`
	}
	return out.Decisions, c.do(ctx, http.MethodGet, "/api/v1/discovery/audit?"+q.Encode(), "/", nil, nil, &out)
}

// AgentConfig returns device id's effective agent configuration and its layers.
func (c *Client) AgentConfig(ctx context.Context, id string) (device.AgentConfig, error) {
	var out device.AgentConfig
	return out, c.do(ctx, http.MethodGet, devicePath(id)+"/agent-config", "/", nil, nil, &out)
}

// PutAgentConfig replaces device id's layer of the agent configuration
// (JSON, the keys of docs/agent.md's remote configuration).
func (c *Client) PutAgentConfig(ctx context.Context, id string, layer []byte) (device.AgentConfigLayer, error) {
	var out device.AgentConfigLayer
	return out, c.do(ctx, http.MethodPut, devicePath(id)+"/agent-config", "/", bytes.NewReader(layer), jsonHeader, &out)
}

// DeleteAgentConfig removes device id's layer (it then follows the fleet's).
func (c *Client) DeleteAgentConfig(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, devicePath(id)+"/agent-config", "/", nil, nil, nil)
}

// FleetAgentConfig returns the fleet's layer of the agent configuration.
func (c *Client) FleetAgentConfig(ctx context.Context) (device.AgentConfigLayer, error) {
	var out device.AgentConfigLayer
	return out, c.do(ctx, http.MethodGet, "/api/v1/agent-config", "/", nil, nil, &out)
}

// PutFleetAgentConfig replaces the fleet's layer.
func (c *Client) PutFleetAgentConfig(ctx context.Context, layer []byte) (device.AgentConfigLayer, error) {
	var out device.AgentConfigLayer
	return out, c.do(ctx, http.MethodPut, "/api/v1/agent-config", "/", bytes.NewReader(layer), jsonHeader, &out)
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}
