package posture

import (
	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/secmsg"
)

// baselineSeverity maps a check's severity to a recommendation's. An
// unknown severity (the hub refuses one, so only a damaged store holds it)
// counts as Medium rather than as harmless.
func baselineSeverity(s string) string {
	switch s {
	case secmsg.SeverityCritical, secmsg.SeverityHigh:
		return center.SeverityHigh
	case secmsg.SeverityMedium:
		return center.SeverityMedium
	case secmsg.SeverityLow:
		return center.SeverityLow
	case secmsg.SeverityInformational:
		return center.SeverityInformational
	}
	return center.SeverityMedium
}

// checkBaseline reports each failed OS baseline check of a device as the
// recommendation "baseline:<CheckId>". Checks that could not run (Error)
// are not failures.
func checkBaseline(b *builder, device string, items []store.DeviceItem) {
	for _, it := range items {
		f := it.Fields
		id := f["CheckId"]
		if f["Result"] != secmsg.CheckFail || id == "" {
			continue
		}
		title := f["Description"]
		if title == "" {
			title = "OS baseline check " + id
		}
		desc := "The device fails the OS baseline check " + id + "."
		if e := f["Expected"]; e != "" {
			desc += " Expected: " + e + "."
		}
		rem := f["Remediation"]
		if rem == "" {
			rem = "Change the device's configuration so that the check " + id + " passes."
		}
		b.add(Recommendation{ID: IDBaselinePrefix + id, Title: clip(title, 512), Description: clip(desc, 2048),
			Remediation: clip(rem, 4096), Severity: baselineSeverity(f["Severity"])}, device, actual(f["Actual"]))
	}
}

func actual(s string) string {
	if s == "" {
		return ""
	}
	return "actual: " + s
}
