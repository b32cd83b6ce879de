package device

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/agentconf"
	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
)

// Setting keys of the agent configuration layers.
const (
	fleetAgentConfigKey  = "agent-config"
	deviceAgentConfigKey = "agent-config/device/"
)

// AgentConfig is what GET /api/v1/devices/{id}/agent-config answers: the
// configuration the device's agent applies, and the layers it comes from.
type AgentConfig struct {
	Device  string           `json:"device"`
	Version string           `json:"version"` // changes whenever Config does
	Config  agentconf.Config `json:"config"`  // effective: defaults ⊕ fleet ⊕ device
	Fleet   agentconf.Config `json:"fleet"`   // the fleet's layer (fields set by the operator)
	Own     agentconf.Config `json:"own"`     // the device's layer
}

// AgentConfigLayer is a stored layer with its last change.
type AgentConfigLayer struct {
	Config    agentconf.Config `json:"config"`
	UpdatedAt time.Time        `json:"updatedAt,omitzero"`
}

func (s *Service) layer(ctx context.Context, key string) (AgentConfigLayer, error) {
	data, at, err := s.store.GetSetting(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return AgentConfigLayer{}, nil
	} else if err != nil {
		return AgentConfigLayer{}, hub.StoreError(err)
	}
	var c agentconf.Config
	if err := json.Unmarshal(data, &c); err != nil {
		return AgentConfigLayer{}, apierr.Wrap(err, http.StatusInternalServerError, "corrupt_setting", "stored agent configuration %q is not valid JSON", key)
	}
	return AgentConfigLayer{Config: c, UpdatedAt: at}, nil
}

// AgentConfig returns the effective agent configuration of device id.
func (s *Service) AgentConfig(ctx context.Context, id string) (AgentConfig, error) {
	d, err := s.Lookup(ctx, id)
	if err != nil {
		return AgentConfig{}, err
	}
	fleet, err := s.layer(ctx, fleetAgentConfigKey)
	if err != nil {
		return AgentConfig{}, err
	}
	own, err := s.layer(ctx, deviceAgentConfigKey+d.ID)
	if err != nil {
		return AgentConfig{}, err
	}
	eff := agentconf.Effective(fleet.Config, own.Config)
	return AgentConfig{Device: d.ID, Version: eff.Version(), Config: eff, Fleet: fleet.Config, Own: own.Config}, nil
}

// FleetAgentConfig returns the fleet's layer.
func (s *Service) FleetAgentConfig(ctx context.Context) (AgentConfigLayer, error) {
	return s.layer(ctx, fleetAgentConfigKey)
}

// PutFleetAgentConfig replaces the fleet's layer with the JSON in data.
func (s *Service) PutFleetAgentConfig(ctx context.Context, data []byte) (AgentConfigLayer, error) {
	return s.putLayer(ctx, fleetAgentConfigKey, data)
}

// PutDeviceAgentConfig replaces device id's layer with the JSON in data.
func (s *Service) PutDeviceAgentConfig(ctx context.Context, id string, data []byte) (AgentConfigLayer, error) {
	d, err := s.Lookup(ctx, id)
	if err != nil {
		return AgentConfigLayer{}, err
	}
	return s.putLayer(ctx, deviceAgentConfigKey+d.ID, data)
}

// DeleteDeviceAgentConfig removes device id's layer (it then follows the fleet's).
func (s *Service) DeleteDeviceAgentConfig(ctx context.Context, id string) error {
	err := s.store.DeleteSetting(ctx, deviceAgentConfigKey+strings.ToLower(id))
	if errors.Is(err, store.ErrNotFound) {
		return apierr.Wrap(err, http.StatusNotFound, "agent_config_not_found", "device %q has no agent configuration of its own", id)
	} else if err != nil {
		return hub.StoreError(err)
	}
	return nil
}

func (s *Service) putLayer(ctx context.Context, key string, data []byte) (AgentConfigLayer, error) {
	c, err := agentconf.Parse(data)
	if err != nil {
		return AgentConfigLayer{}, apierr.Wrap(err, http.StatusBadRequest, "invalid_agent_config", "%v", err)
	}
	canonical, err := json.Marshal(c)
	if err != nil {
		return AgentConfigLayer{}, err
	}
	if err := s.store.PutSetting(ctx, key, canonical); err != nil {
		return AgentConfigLayer{}, hub.StoreError(err)
	}
	return s.layer(ctx, key)
}
