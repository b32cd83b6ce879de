package posture

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultSilentAfter        = time.Hour
	DefaultSmallMessageBytes  = 1024
	DefaultManyMessagesPerDay = 500
)

// DefaultAllowedPorts are the ports a device may listen on from every
// interface without a recommendation: SSH and the DHCP client.
func DefaultAllowedPorts() []string { return []string{"tcp/22", "udp/68"} }

// Config tunes the rules. A zero field takes its default; AllowedPorts
// takes its default when nil (an empty, non-nil list allows no port).
type Config struct {
	// AllowedPorts lists "proto/port" entries ("tcp/22", "udp/68"); tcp6
	// and udp6 are the same as tcp and udp.
	AllowedPorts []string
	// SilentAfter is how long an agent may send nothing before it is
	// reported silent.
	SilentAfter time.Duration
	// SmallMessageBytes and ManyMessagesPerDay define an agent sending
	// many small messages: fewer bytes per message on average than
	// SmallMessageBytes, and more messages a day than ManyMessagesPerDay.
	SmallMessageBytes  int64
	ManyMessagesPerDay int64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{AllowedPorts: DefaultAllowedPorts(), SilentAfter: DefaultSilentAfter,
		SmallMessageBytes: DefaultSmallMessageBytes, ManyMessagesPerDay: DefaultManyMessagesPerDay}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.AllowedPorts == nil {
		c.AllowedPorts = d.AllowedPorts
	}
	if c.SilentAfter <= 0 {
		c.SilentAfter = d.SilentAfter
	}
	if c.SmallMessageBytes <= 0 {
		c.SmallMessageBytes = d.SmallMessageBytes
	}
	if c.ManyMessagesPerDay <= 0 {
		c.ManyMessagesPerDay = d.ManyMessagesPerDay
	}
	return c
}

// ErrBadPort reports an AllowedPorts entry that is not "proto/port".
var ErrBadPort = errors.New("want proto/port with proto tcp, tcp6, udp or udp6 and port 1-65535")

// Validate reports every problem of the configuration. Compute ignores an
// invalid AllowedPorts entry; a caller loading a configuration should
// refuse it instead.
func (c Config) Validate() error {
	var errs []error
	for i, p := range c.AllowedPorts {
		if _, err := ParsePort(p); err != nil {
			errs = append(errs, fmt.Errorf("allowedPorts[%d]: %w", i, err))
		}
	}
	if c.SilentAfter < 0 {
		errs = append(errs, fmt.Errorf("silentAfter: %v is negative", c.SilentAfter))
	}
	if c.SmallMessageBytes < 0 {
		errs = append(errs, fmt.Errorf("smallMessageBytes: %d is negative", c.SmallMessageBytes))
	}
	if c.ManyMessagesPerDay < 0 {
		errs = append(errs, fmt.Errorf("manyMessagesPerDay: %d is negative", c.ManyMessagesPerDay))
	}
	return errors.Join(errs...)
}

// ParsePort reads a "proto/port" entry and returns it in canonical form:
// the protocol lower case without the 6 ("tcp6/22" → "tcp/22").
func ParsePort(s string) (string, error) {
	proto, port, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return "", fmt.Errorf("%q: %w", s, ErrBadPort)
	}
	p := baseProtocol(proto)
	if p == "" {
		return "", fmt.Errorf("%q: %w", s, ErrBadPort)
	}
	n, err := parsePortNumber(port)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, ErrBadPort)
	}
	return p + "/" + strconv.Itoa(n), nil
}

// baseProtocol maps tcp, tcp6, udp, udp6 (any case) to tcp or udp, and
// anything else to "".
func baseProtocol(p string) string {
	switch strings.ToLower(p) {
	case "tcp", "tcp6":
		return "tcp"
	case "udp", "udp6":
		return "udp"
	}
	return ""
}

// parsePortNumber reads a decimal port, 1 to 65535.
func parsePortNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", s, err)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d: out of range", n)
	}
	return n, nil
}

// allowedPorts returns the valid AllowedPorts entries as a set.
func (c Config) allowedPorts() map[string]bool {
	m := make(map[string]bool, len(c.AllowedPorts))
	for _, p := range c.AllowedPorts {
		if canon, err := ParsePort(p); err == nil {
			m[canon] = true
		}
	}
	return m
}
