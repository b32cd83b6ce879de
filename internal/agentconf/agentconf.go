// Package agentconf is moat-agent's remote configuration: the settings an
// operator changes from the server (send intervals, per-event priorities,
// snapshot intervals, spool and message sizes), their defaults, validation
// and layering. The server stores and serves it, the agent applies it; the
// package imports only the standard library so the agent stays small.
package agentconf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Priority decides when an event type leaves the device.
type Priority string

// Priorities.
const (
	High Priority = "High" // within HighPriorityInterval
	Low  Priority = "Low"  // within LowPriorityInterval
	Off  Priority = "Off"  // not collected
)

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalText reads a Go duration string (YAML configuration files).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the agent's remote configuration. In a layer (the fleet's or a
// device's) a zero field means "not set here"; Effective fills every field.
type Config struct {
	// HighPriorityInterval: high-priority events leave within this (default 10s).
	HighPriorityInterval Duration `json:"highPriorityInterval,omitzero" yaml:"highPriorityInterval,omitempty"`
	// LowPriorityInterval: everything else leaves within this (default 10m).
	LowPriorityInterval Duration `json:"lowPriorityInterval,omitzero" yaml:"lowPriorityInterval,omitempty"`
	// FullSnapshotInterval: snapshots are sent in full this often, as
	// differences in between (default 24h).
	FullSnapshotInterval Duration `json:"fullSnapshotInterval,omitzero" yaml:"fullSnapshotInterval,omitempty"`
	// SnapshotIntervals: how often each snapshot is taken and compared
	// with the last one, by event name.
	SnapshotIntervals map[string]Duration `json:"snapshotIntervals,omitempty" yaml:"snapshotIntervals,omitempty"`
	// EventPriorities: High, Low or Off, by event name.
	EventPriorities map[string]Priority `json:"eventPriorities,omitempty" yaml:"eventPriorities,omitempty"`
	// MaxMessageSize: messages are packed up to this many bytes of JSON
	// before compression (default 4096).
	MaxMessageSize int `json:"maxMessageSize,omitzero" yaml:"maxMessageSize,omitempty"`
	// CacheSize: bytes of the on-disk spool (default 10 MiB).
	CacheSize int `json:"cacheSize,omitzero" yaml:"cacheSize,omitempty"`
	// Resync is an opaque word: when it changes, the agent sends every
	// snapshot in full at its next configuration poll (a full snapshot
	// on request). Empty = none asked for.
	Resync string `json:"resync,omitempty" yaml:"resync,omitempty"`
}

// Event names the configuration knows (the secmsg event names).
var (
	SnapshotEvents    = []string{"ListeningPorts", "FirewallConfiguration", "LocalUsers", "OSBaseline", "SystemInformation"}
	TriggeredEvents   = []string{"Login", "ProcessCreate", "ProcessTerminate", "ConnectionCreate"}
	OperationalEvents = []string{"Diagnostic", "ConfigurationError", "DroppedEventsStatistics", "MessageStatistics"}
)

// Defaults is the built-in configuration, the bottom layer.
func Defaults() Config {
	return Config{
		HighPriorityInterval: Duration(10 * time.Second),
		LowPriorityInterval:  Duration(10 * time.Minute),
		FullSnapshotInterval: Duration(24 * time.Hour),
		SnapshotIntervals: map[string]Duration{
			"ListeningPorts":        Duration(time.Minute),
			"LocalUsers":            Duration(5 * time.Minute),
			"FirewallConfiguration": Duration(5 * time.Minute),
			"OSBaseline":            Duration(time.Hour),
			"SystemInformation":     Duration(6 * time.Hour),
		},
		EventPriorities: map[string]Priority{
			"Login": High, "ListeningPorts": High, "LocalUsers": High, "FirewallConfiguration": High,
			"OSBaseline": Low, "SystemInformation": Low,
			"ProcessCreate": Low, "ProcessTerminate": Off, "ConnectionCreate": Low,
			"Diagnostic": Low, "ConfigurationError": Low, "DroppedEventsStatistics": Low, "MessageStatistics": Low,
		},
		MaxMessageSize: 4096,
		CacheSize:      10 << 20,
	}
}

// Limits of each setting.
const (
	MinHighInterval, MaxHighInterval         = time.Second, time.Hour
	MinLowInterval, MaxLowInterval           = 10 * time.Second, 24 * time.Hour
	MinSnapshotInterval, MaxSnapshotInterval = 10 * time.Second, 7 * 24 * time.Hour
	MinFullInterval, MaxFullInterval         = time.Hour, 30 * 24 * time.Hour
	MinMessageSize, MaxMessageSize           = 1 << 10, 256 << 10
	MinCacheSize, MaxCacheSize               = 1 << 20, 1 << 30
)

// Error is a configuration that is not valid; Field names the setting.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return "agent config: " + e.Field + ": " + e.Message }

// Parse decodes one layer strictly (unknown fields are errors) and validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, &Error{Field: "(body)", Message: err.Error()}
	}
	if dec.More() {
		return Config{}, &Error{Field: "(body)", Message: "more than one JSON value"}
	}
	return c, c.Validate()
}

// Validate checks the set fields of a layer.
func (c Config) Validate() error {
	var errs []error
	rng := func(field string, v, lo, hi time.Duration) {
		if v != 0 && (v < lo || v > hi) {
			errs = append(errs, &Error{Field: field, Message: fmt.Sprintf("%s is outside [%s, %s]", v, lo, hi)})
		}
	}
	rng("highPriorityInterval", c.HighPriorityInterval.D(), MinHighInterval, MaxHighInterval)
	rng("lowPriorityInterval", c.LowPriorityInterval.D(), MinLowInterval, MaxLowInterval)
	rng("fullSnapshotInterval", c.FullSnapshotInterval.D(), MinFullInterval, MaxFullInterval)
	for _, name := range slices.Sorted(maps.Keys(c.SnapshotIntervals)) {
		if !slices.Contains(SnapshotEvents, name) {
			errs = append(errs, &Error{Field: "snapshotIntervals." + name, Message: "not a snapshot event: want one of " + strings.Join(SnapshotEvents, ", ")})
			continue
		}
		v := c.SnapshotIntervals[name].D()
		if v == 0 {
			errs = append(errs, &Error{Field: "snapshotIntervals." + name, Message: "must be set"})
		}
		rng("snapshotIntervals."+name, v, MinSnapshotInterval, MaxSnapshotInterval)
	}
	all := slices.Concat(SnapshotEvents, TriggeredEvents, OperationalEvents)
	for _, name := range slices.Sorted(maps.Keys(c.EventPriorities)) {
		if !slices.Contains(all, name) {
			errs = append(errs, &Error{Field: "eventPriorities." + name, Message: "unknown event name"})
			continue
		}
		switch p := c.EventPriorities[name]; p {
		case High, Low, Off:
		default:
			errs = append(errs, &Error{Field: "eventPriorities." + name, Message: fmt.Sprintf("%q: want High, Low or Off", p)})
		}
	}
	if v := c.MaxMessageSize; v != 0 && (v < MinMessageSize || v > MaxMessageSize) {
		errs = append(errs, &Error{Field: "maxMessageSize", Message: fmt.Sprintf("%d is outside [%d, %d]", v, MinMessageSize, MaxMessageSize)})
	}
	if v := c.CacheSize; v != 0 && (v < MinCacheSize || v > MaxCacheSize) {
		errs = append(errs, &Error{Field: "cacheSize", Message: fmt.Sprintf("%d is outside [%d, %d]", v, MinCacheSize, MaxCacheSize)})
	}
	if len(c.Resync) > 64 {
		errs = append(errs, &Error{Field: "resync", Message: "at most 64 bytes"})
	}
	if c.HighPriorityInterval != 0 && c.LowPriorityInterval != 0 && c.HighPriorityInterval > c.LowPriorityInterval {
		errs = append(errs, &Error{Field: "highPriorityInterval", Message: "longer than lowPriorityInterval"})
	}
	return errors.Join(errs...)
}

// Over returns c with the fields set in top replacing its own (maps are
// merged key by key).
func (c Config) Over(top Config) Config {
	out := c
	if top.HighPriorityInterval != 0 {
		out.HighPriorityInterval = top.HighPriorityInterval
	}
	if top.LowPriorityInterval != 0 {
		out.LowPriorityInterval = top.LowPriorityInterval
	}
	if top.FullSnapshotInterval != 0 {
		out.FullSnapshotInterval = top.FullSnapshotInterval
	}
	if top.MaxMessageSize != 0 {
		out.MaxMessageSize = top.MaxMessageSize
	}
	if top.CacheSize != 0 {
		out.CacheSize = top.CacheSize
	}
	if top.Resync != "" {
		// Both layers' requests count: a fleet-wide resync must not be
		// hidden by an older one of the device.
		if out.Resync != "" && out.Resync != top.Resync {
			out.Resync += "+" + top.Resync
		} else {
			out.Resync = top.Resync
		}
	}
	out.SnapshotIntervals = maps.Clone(c.SnapshotIntervals)
	if out.SnapshotIntervals == nil && len(top.SnapshotIntervals) > 0 {
		out.SnapshotIntervals = map[string]Duration{}
	}
	maps.Copy(out.SnapshotIntervals, top.SnapshotIntervals)
	out.EventPriorities = maps.Clone(c.EventPriorities)
	if out.EventPriorities == nil && len(top.EventPriorities) > 0 {
		out.EventPriorities = map[string]Priority{}
	}
	maps.Copy(out.EventPriorities, top.EventPriorities)
	return out
}

// Effective layers the fleet's and the device's settings over the defaults.
// The result has every field set; a high interval left longer than the low
// one by the layers is clamped to it.
func Effective(fleet, device Config) Config {
	c := Defaults().Over(fleet).Over(device)
	if c.HighPriorityInterval > c.LowPriorityInterval {
		c.HighPriorityInterval = c.LowPriorityInterval
	}
	return c
}

// Version is a short hash of the configuration's canonical JSON: the agent
// applies a fetched configuration only when its version changed.
func (c Config) Version() string {
	b, _ := json.Marshal(c) // maps marshal in key order
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// PriorityOf returns an event's priority in an effective configuration
// (Low for a name it does not list).
func (c Config) PriorityOf(event string) Priority {
	if p, ok := c.EventPriorities[event]; ok {
		return p
	}
	return Low
}
