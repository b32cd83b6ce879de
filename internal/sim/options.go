package sim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/sas"
)

// Limits and defaults.
const (
	MaxDevices  = 100_000 // devices of one run (one import of at most a few MB)
	MaxAttempts = 100_000 // failed logins of one attack

	DefaultHub           = "sim"
	DefaultPrefix        = "sim"
	DefaultTelemetryRate = 0.1 // telemetry events per device per second
	DefaultAttempts      = 30
	DefaultAttacker      = "198.51.100.66" // TEST-NET-2 (RFC 5737)
	DefaultAttackWindow  = time.Minute
	DefaultFlushInterval = 10 * time.Second // the agent's aggregation window
	DefaultStatsInterval = time.Minute
	DefaultConcurrency   = 256
	DefaultAgentVersion  = "0.0.0-sim"
	maxRamp              = 30 * time.Second
	rampPerDevice        = 2 * time.Millisecond
)

// AttackSSHBruteForce is the one attack the simulator plays.
const AttackSSHBruteForce = "ssh-brute-force"

// Attack is a simulated attack on one device. The zero value is no attack.
type Attack struct {
	Kind string // AttackSSHBruteForce, or "" for none
	// Device is the target: a device ID of the run ("sim-0003"), or its
	// number ("3"); "" = the first device.
	Device string
	// Attempts is how many failed logins the target reports (default
	// DefaultAttempts).
	Attempts int
	// Success adds one successful login from the same address after the
	// failures.
	Success bool
	// From is the attacker's address (default DefaultAttacker).
	From string
}

// ParseAttack parses the --attack flag: "" (none), "ssh-brute-force" or
// "ssh-brute-force:DEVICE".
func ParseAttack(s string) (Attack, error) {
	if s == "" {
		return Attack{}, nil
	}
	kind, dev, _ := strings.Cut(s, ":")
	if kind != AttackSSHBruteForce {
		return Attack{}, fmt.Errorf("sim: attack %.64q: the only attack is %s[:DEVICE]", s, AttackSSHBruteForce)
	}
	if strings.Contains(s, ":") && dev == "" {
		return Attack{}, fmt.Errorf("sim: attack %.64q: no device after ':'", s)
	}
	return Attack{Kind: kind, Device: dev}, nil
}

// Options configure a run.
type Options struct {
	Server string      // base URL of the server
	TLS    *tls.Config // nil = system defaults
	// Conn is a connection string with Manage rights on the namespace: it
	// creates the hub and imports the devices. Its namespace is also the
	// one the devices' proofs are scoped to.
	Conn sas.ConnectionString

	Hub        string // created (with Partitions) if missing; default DefaultHub
	Partitions int    // of a hub the run creates (0 = the server's default)
	Devices    int    // 1..MaxDevices
	Prefix     string // device IDs are PREFIX-0001…; default DefaultPrefix

	Attack Attack

	// Duration stops the run; 0 = once every device sent its snapshots and
	// the attack is over, plus one telemetry round (1/TelemetryRate).
	Duration time.Duration
	// TelemetryRate is telemetry events per device per second; 0 = none.
	// Options{} means none: the CLI passes DefaultTelemetryRate.
	TelemetryRate float64
	// Concurrency bounds the devices acting at once (default
	// DefaultConcurrency, at most Devices).
	Concurrency int
	// Ramp spreads the devices' starts (default 2 ms per device, at most
	// 30 s); negative = all at once.
	Ramp time.Duration

	// The agent's rhythm: failed logins are aggregated and sent every
	// FlushInterval (default 10 s), spread over AttackWindow (default 1
	// min); MessageStatistics every StatsInterval (default 1 min).
	FlushInterval time.Duration
	AttackWindow  time.Duration
	StatsInterval time.Duration

	AgentVersion string // reported in every security message (default DefaultAgentVersion)

	// OnProgress, when set, is told about every send of the attack's target
	// from the attack's start until its first send after the attack. It is
	// called from the goroutine that sent, before the target sends again.
	OnProgress func(Progress)

	Clock Clock // default the system clock
}

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Server == "" {
		return o, errors.New("sim: no server")
	}
	if o.Devices < 1 || o.Devices > MaxDevices {
		return o, fmt.Errorf("sim: %d devices: want 1 to %d", o.Devices, MaxDevices)
	}
	if o.Hub == "" {
		o.Hub = DefaultHub
	}
	h, err := hub.CanonicalHub(o.Hub)
	if err != nil {
		return o, fmt.Errorf("sim: %w", err)
	}
	o.Hub = h
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	o.Prefix = strings.ToLower(o.Prefix)
	if _, err := hub.CanonicalPublisher(deviceID(o.Prefix, o.Devices, o.Devices)); err != nil {
		return o, fmt.Errorf("sim: prefix %.64q: %w", o.Prefix, err)
	}
	if o.Partitions < 0 {
		return o, fmt.Errorf("sim: %d partitions", o.Partitions)
	}
	if o.Duration < 0 {
		return o, fmt.Errorf("sim: duration %s: want ≥ 0", o.Duration)
	}
	if !(o.TelemetryRate >= 0 && o.TelemetryRate <= 1000) {
		return o, fmt.Errorf("sim: telemetry rate %v: want 0 to 1000 events per device per second", o.TelemetryRate)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	o.Concurrency = min(o.Concurrency, o.Devices)
	switch {
	case o.Ramp == 0:
		o.Ramp = min(maxRamp, time.Duration(o.Devices)*rampPerDevice)
	case o.Ramp < 0:
		o.Ramp = 0
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.AttackWindow <= 0 {
		o.AttackWindow = DefaultAttackWindow
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = DefaultStatsInterval
	}
	if o.AgentVersion == "" {
		o.AgentVersion = DefaultAgentVersion
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Attack.Kind != "" {
		if o.Attack.Kind != AttackSSHBruteForce {
			return o, fmt.Errorf("sim: unknown attack %.64q", o.Attack.Kind)
		}
		if o.Attack.Attempts == 0 {
			o.Attack.Attempts = DefaultAttempts
		}
		if o.Attack.Attempts < 1 || o.Attack.Attempts > MaxAttempts {
			return o, fmt.Errorf("sim: %d attempts: want 1 to %d", o.Attack.Attempts, MaxAttempts)
		}
		if o.Attack.From == "" {
			o.Attack.From = DefaultAttacker
		}
		if _, err := netip.ParseAddr(o.Attack.From); err != nil {
			return o, fmt.Errorf("sim: attacker address %.64q: %w", o.Attack.From, err)
		}
		if o.Attack.Device, err = targetID(o.Prefix, o.Devices, o.Attack.Device); err != nil {
			return o, err
		}
	}
	return o, nil
}

// deviceID is the ID of device n (1-based) of a run of total devices:
// PREFIX-0001, with more digits when total needs them.
func deviceID(prefix string, n, total int) string {
	width := max(4, len(strconv.Itoa(total)))
	return fmt.Sprintf("%s-%0*d", prefix, width, n)
}

// targetID resolves the attack's target among the run's devices.
func targetID(prefix string, total int, spec string) (string, error) {
	if spec == "" {
		return deviceID(prefix, 1, total), nil
	}
	if n, err := strconv.Atoi(spec); err == nil {
		if n < 1 || n > total {
			return "", fmt.Errorf("sim: attack target %d: want 1 to %d", n, total)
		}
		return deviceID(prefix, n, total), nil
	}
	want := strings.ToLower(spec)
	num, ok := strings.CutPrefix(want, prefix+"-")
	if n, err := strconv.Atoi(num); ok && err == nil && n >= 1 && n <= total && deviceID(prefix, n, total) == want {
		return want, nil
	}
	return "", fmt.Errorf("sim: attack target %.64q is not one of the simulated devices %s to %s",
		spec, deviceID(prefix, 1, total), deviceID(prefix, total, total))
}
