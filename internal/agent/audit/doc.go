// Package audit collects security events from the Linux audit system for
// moat-agent: logins (PAM and sshd records), process creations (execve),
// outbound and inbound connections (connect/accept) and, where audited,
// process terminations (exit_group).
//
// Records come from one of two sources: the kernel's audit multicast netlink
// group when the process holds CAP_AUDIT_READ, otherwise the audit daemon's
// log file (/var/log/audit/audit.log), tailed across rotations. Records are
// grouped by event serial, parsed with go-libaudit's auparse, coalesced with
// aucoalesce into one event per serial, and mapped to the small event types of
// this package. With CAP_AUDIT_CONTROL the package installs the audit rules it
// needs (see moat.rules); without it, it reports which rules the operator
// must add. See docs/agent-audit.md.
package audit
