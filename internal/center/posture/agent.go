package posture

import (
	"fmt"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
)

var recAgentMissing = Recommendation{
	ID:       IDAgentMissing,
	Title:    "Security agent not reporting",
	Severity: center.SeverityMedium,
	Description: "The device is registered but its security agent has never sent a security message, so the center sees " +
		"nothing of it: no logins, no ports, no firewall, no baseline.",
	Remediation: "Install moat-agent on the device and start it (see docs/agent.md). If it is installed, read its log: " +
		"it must reach the discovery service for its publisher token, and the device id it uses must be this one.",
}

var recAgentSilent = Recommendation{
	ID:       IDAgentSilent,
	Title:    "Security agent silent",
	Severity: center.SeverityMedium,
	Description: "The device's security agent has sent nothing for longer than the center's silence limit. The device may " +
		"be off or cut off, or the agent stopped, crashed or was removed: attacks on it go unseen meanwhile.",
	Remediation: "Check that the device is up and reaches the hub, and that moat-agent runs (`systemctl status moat-agent`); " +
		"read its log for refused tokens or full spools. An agent that was removed on purpose should be reinstalled.",
}

var recAgentSmallMessages = Recommendation{
	ID:       IDAgentSmallMessages,
	Title:    "Agent sends many small messages",
	Severity: center.SeverityLow,
	Description: "The device's agent sends many messages a day with few bytes in each: every message costs a request, a " +
		"token check and a stored record, and small messages compress badly. Events that wait a little longer are " +
		"aggregated and packed together.",
	Remediation: "Raise the device's lowPriorityInterval (and highPriorityInterval if it was lowered), and lower the " +
		"priority of chatty event names, so the agent aggregates and packs events: e.g. " +
		"`echo '{\"lowPriorityInterval\": \"15m\"}' | moat device agent-config ID --set -`, or `moat agent-config` for the " +
		"whole fleet.",
}

// day is the shortest span the message rate is averaged over, so that an
// agent's first hours (full snapshots at start) do not count as a rate.
const day = 24 * time.Hour

// checkAgent reports a device whose agent never sent, went silent, or
// sends many small messages. A disabled or quarantined device cannot send:
// it is not reported missing or silent. A device registered less than
// SilentAfter ago is not reported missing yet.
func checkAgent(b *builder, d Device, agents map[string]store.AgentSeen, now time.Time, cfg Config) {
	canSend := d.Status != store.DeviceDisabled && d.Status != store.DeviceQuarantined
	seen, ok := agents[d.ID]
	if !ok {
		if canSend && (d.CreatedAt.IsZero() || now.Sub(d.CreatedAt) > cfg.SilentAfter) {
			detail := "never sent"
			if !d.CreatedAt.IsZero() {
				detail += ", registered " + stamp(d.CreatedAt)
			}
			b.add(recAgentMissing, d.ID, detail)
		}
		return
	}
	if canSend && !seen.LastSeen.IsZero() && now.Sub(seen.LastSeen) > cfg.SilentAfter {
		b.add(recAgentSilent, d.ID, fmt.Sprintf("last message %s ago (%s)", ago(now.Sub(seen.LastSeen)), stamp(seen.LastSeen)))
	}
	if seen.Messages <= 0 || seen.Bytes < 0 || seen.FirstSeen.IsZero() {
		return
	}
	span := max(now.Sub(seen.FirstSeen), day)
	perDay := float64(seen.Messages) / (float64(span) / float64(day))
	avg := seen.Bytes / seen.Messages
	if avg < cfg.SmallMessageBytes && perDay > float64(cfg.ManyMessagesPerDay) {
		b.add(recAgentSmallMessages, d.ID, fmt.Sprintf("%d messages since %s (%.0f a day), %d bytes each on average",
			seen.Messages, stamp(seen.FirstSeen), perDay, avg))
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ago writes a duration to the minute ("3h12m", "2d4h" past two days).
func ago(d time.Duration) string {
	d = d.Truncate(time.Minute)
	if d >= 2*day {
		days := d / day
		return fmt.Sprintf("%dd%dh", days, (d-days*day)/time.Hour)
	}
	s := d.String() // "3h12m0s"
	if len(s) > 2 && s[len(s)-2:] == "0s" && d >= time.Minute {
		s = s[:len(s)-2]
	}
	return s
}
