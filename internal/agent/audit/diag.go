package audit

import "strings"

// DiagCode names a condition the collector reports to the agent.
type DiagCode string

// Diagnostic codes.
const (
	// DiagSourceNetlink: events come from the kernel's audit multicast group.
	DiagSourceNetlink DiagCode = "audit.source.netlink"
	// DiagSourceFile: events come from the audit log file.
	DiagSourceFile DiagCode = "audit.source.file"
	// DiagNetlinkUnavailable: the multicast group could not be joined (no
	// CAP_AUDIT_READ, kernel without audit, network namespace…); Err says
	// why. The collector falls back to the log file.
	DiagNetlinkUnavailable DiagCode = "audit.netlink.unavailable"
	// DiagNetlinkLost: the kernel dropped records because the agent read
	// too slowly (ENOBUFS).
	DiagNetlinkLost DiagCode = "audit.netlink.lost"
	// DiagNetlinkError: receiving failed for another reason.
	DiagNetlinkError DiagCode = "audit.netlink.error"
	// DiagLogMissing, DiagLogFound, DiagLogReadError: the log file's state.
	DiagLogMissing   DiagCode = "audit.log.missing"
	DiagLogFound     DiagCode = "audit.log.found"
	DiagLogReadError DiagCode = "audit.log.error"
	// DiagRulesInstalled: the rules are in the kernel (Rules lists those
	// added now, Present those already there).
	DiagRulesInstalled DiagCode = "audit.rules.installed"
	// DiagRulesNotInstalled: the rules could not be installed (no
	// CAP_AUDIT_CONTROL, rules locked…). Rules holds the exact lines the
	// operator must add to /etc/audit/rules.d/.
	DiagRulesNotInstalled DiagCode = "audit.rules.not_installed"
	// DiagRuleUnsupported: a rule does not apply on this architecture.
	DiagRuleUnsupported DiagCode = "audit.rules.unsupported"
	// DiagRulesRemoved: the rules this collector added were removed.
	DiagRulesRemoved DiagCode = "audit.rules.removed"
	// DiagAuditDisabled: kernel auditing is off: no source will see events.
	DiagAuditDisabled DiagCode = "audit.kernel.disabled"
	// DiagAuditEnabled: the collector switched kernel auditing on.
	DiagAuditEnabled DiagCode = "audit.kernel.enabled"
)

// Severity grades a Diagnostic.
type Severity string

// Severities.
const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Diagnostic is a condition worth telling the operator about, in a form the
// agent can forward.
type Diagnostic struct {
	Code     DiagCode
	Severity Severity
	Message  string
	Err      error
	// Rules lists audit rule lines: those to add by hand for
	// DiagRulesNotInstalled, those concerned otherwise.
	Rules []string
}

// String renders the diagnostic on one line.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(string(d.Severity))
	b.WriteString(" ")
	b.WriteString(string(d.Code))
	b.WriteString(": ")
	b.WriteString(d.Message)
	if d.Err != nil {
		b.WriteString(": ")
		b.WriteString(d.Err.Error())
	}
	return b.String()
}
