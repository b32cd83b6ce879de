package posture

import (
	"slices"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
)

// Recommendation IDs. A failed OS baseline check has the ID
// IDBaselinePrefix + its CheckId.
const (
	IDOpenPort               = "open-port"
	IDFirewallDefaultAccept  = "firewall-default-accept"
	IDFirewallPermissiveRule = "firewall-permissive-rule"
	IDBaselinePrefix         = "baseline:"
	IDAgentMissing           = "agent-missing"
	IDAgentSilent            = "agent-silent"
	IDSharedSendKey          = "shared-send-key"
	IDAgentSmallMessages     = "agent-small-messages"
)

// Device is a registered device.
type Device struct {
	ID        string
	Hub       string
	Tags      map[string]string
	Status    string // store.DeviceEnabled…
	CreatedAt time.Time
}

// SharedRule is an authorization rule holding the Send right that is not
// bound to one publisher: a hub's rule (Hub set) or a namespace rule
// (Hub ""). The caller leaves out the system rule moat-discovery.
type SharedRule struct {
	Hub  string // "" for a namespace rule
	Name string
}

// Input is everything the recommendations are computed from.
type Input struct {
	Now     time.Time
	Devices []Device // the registered devices; only these are assessed
	// Items holds each device's latest snapshot items, all names mixed
	// (DeviceItem.Name tells them apart).
	Items map[string][]store.DeviceItem
	// Agents holds each device's agent totals; a device absent from it
	// has never had a security message accepted.
	Agents          map[string]store.AgentSeen
	SharedSendRules []SharedRule
	Config          Config
}

// Recommendation is one thing to fix, with every device it applies to.
type Recommendation struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Remediation string     `json:"remediation"`
	Severity    string     `json:"severity"` // center.SeverityHigh…
	Devices     []Affected `json:"devices"`  // sorted by device, one entry per device
}

// Affected is one device a recommendation applies to, and why.
type Affected struct {
	Device string `json:"device"`
	Detail string `json:"detail,omitempty"` // e.g. "tcp 0.0.0.0:1883 (mosquitto)"
}

// Compute runs every rule on the input and returns one recommendation per
// ID that applies to at least one device, sorted by severity (highest
// first) then ID. Devices not in in.Devices are ignored; zero Config
// fields take their defaults.
func Compute(in Input) []Recommendation {
	cfg := in.Config.withDefaults()
	devices := slices.Clone(in.Devices)
	slices.SortFunc(devices, func(a, b Device) int { return strings.Compare(a.ID, b.ID) })
	devices = slices.CompactFunc(devices, func(a, b Device) bool { return a.ID == b.ID })

	b := newBuilder()
	allowed := cfg.allowedPorts()
	for _, d := range devices {
		items := groupItems(in.Items[d.ID])
		checkPorts(b, d.ID, items[nameListeningPorts], allowed)
		checkFirewall(b, d.ID, items)
		checkBaseline(b, d.ID, items[nameOSBaseline])
		checkAgent(b, d, in.Agents, in.Now, cfg)
	}
	checkSharedKeys(b, devices, in.SharedSendRules)
	return b.result()
}

// groupItems splits a device's items by event name.
func groupItems(items []store.DeviceItem) map[string][]store.DeviceItem {
	m := make(map[string][]store.DeviceItem, 5)
	for _, it := range items {
		m[it.Name] = append(m[it.Name], it)
	}
	return m
}

// sortRecommendations orders by severity, highest first, then by ID.
func sortRecommendations(recs []Recommendation) {
	slices.SortFunc(recs, func(a, b Recommendation) int {
		if ra, rb := center.SeverityRank(a.Severity), center.SeverityRank(b.Severity); ra != rb {
			return rb - ra
		}
		return strings.Compare(a.ID, b.ID)
	})
}
