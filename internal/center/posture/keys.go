package posture

import (
	"slices"
	"strings"

	"github.com/moatsec/moat/internal/center"
)

var recSharedSendKey = Recommendation{
	ID:       IDSharedSendKey,
	Title:    "Shared key can send as any device",
	Severity: center.SeverityMedium,
	Description: "A hub rule or a namespace rule holds the Send right. Whoever has its key can send events as any " +
		"publisher of the hub (or of every hub), so one leaked key lets an attacker forge any device's telemetry and " +
		"security messages, and quarantining one device does not stop it.",
	Remediation: "Let each device send with its own publisher token, which the discovery service issues to it " +
		"(moat-agent does this by itself), and take the Send right away from the shared rules: " +
		"`moat rule create NAME [--hub H] --rights Listen` keeps the rule and its keys without Send, " +
		"`moat rule delete NAME` removes it. Keep a shared Send key only for a back-end service, scoped to one hub.",
}

// checkSharedKeys reports every device that a shared Send rule lets anyone
// impersonate: the devices of a hub with a hub rule, every device for a
// namespace rule. The detail names the rules.
func checkSharedKeys(b *builder, devices []Device, rules []SharedRule) {
	if len(rules) == 0 {
		return
	}
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b SharedRule) int {
		if c := strings.Compare(a.Hub, b.Hub); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, d := range devices {
		for _, r := range rules {
			switch {
			case r.Hub == "":
				b.add(recSharedSendKey, d.ID, "namespace rule "+r.Name)
			case r.Hub == d.Hub:
				b.add(recSharedSendKey, d.ID, "hub rule "+r.Hub+"/"+r.Name)
			}
		}
	}
}
