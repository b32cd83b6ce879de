// Package authlog parses the sshd and PAM lines of a syslog authentication
// log (/var/log/auth.log on Debian, /var/log/secure on RHEL) into typed
// records, and counts login attempts from them so that every failed
// authentication is counted exactly once, whichever lines sshd and PAM wrote
// about it.
//
// The parser works on []byte, uses no regular expressions and allocates
// little; lines are hostile input (binary garbage, absurd numbers, lines of
// any length) and never make it panic. See docs/agent-authlog.md.
package authlog
