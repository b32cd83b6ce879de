package baseline

import (
	"fmt"
	"strconv"
	"strings"
)

// sshValue returns the global value of keyword, or def marked "(default)".
func (e *env) sshValue(keyword, def string) (value, actual, reason string, err error) {
	c, err := e.sshdConfig()
	if err != nil {
		return "", "", "", err
	}
	if s, ok := c.Get(keyword); ok {
		return strings.ToLower(s.Value), s.Value, s.where(), nil
	}
	return def, def + " (default)", "not set in " + strings.Join(c.Files, ", "), nil
}

// yesNoCheck fails when the value of keyword is "yes".
func yesNoCheck(keyword, def string) func(*env) outcome {
	return func(e *env) outcome {
		v, actual, reason, err := e.sshValue(keyword, def)
		if err != nil {
			return errored(err)
		}
		if v == "yes" {
			return fail(actual, reason)
		}
		return pass(actual, reason)
	}
}

func sshChecks() []definition {
	return []definition{
		{
			id: "ssh.permit_root_login", severity: High,
			description: "SSH does not accept root logins with a password",
			expected:    "PermitRootLogin no or prohibit-password",
			remediation: "Set `PermitRootLogin no` (or prohibit-password) in /etc/ssh/sshd_config before any Match block and reload sshd; log in as a user and use sudo.",
			run:         yesNoCheck("PermitRootLogin", "prohibit-password"),
		},
		{
			id: "ssh.password_authentication", severity: Medium,
			description: "SSH does not accept password authentication",
			expected:    "PasswordAuthentication no",
			remediation: "Install public keys for the users who need SSH, then set `PasswordAuthentication no` in /etc/ssh/sshd_config and reload sshd (its default is yes).",
			run:         yesNoCheck("PasswordAuthentication", "yes"),
		},
		{
			id: "ssh.permit_empty_passwords", severity: Critical,
			description: "SSH refuses accounts with an empty password",
			expected:    "PermitEmptyPasswords no",
			remediation: "Set `PermitEmptyPasswords no` in /etc/ssh/sshd_config (the default) and reload sshd.",
			run:         yesNoCheck("PermitEmptyPasswords", "no"),
		},
		{
			id: "ssh.max_auth_tries", severity: Medium,
			description: "SSH allows at most 4 authentication attempts per connection",
			expected:    "MaxAuthTries 4 or less",
			remediation: "Set `MaxAuthTries 4` (or less) in /etc/ssh/sshd_config and reload sshd; the default, 6, eases password guessing.",
			run:         maxAuthTries,
		},
		{
			id: "ssh.x11_forwarding", severity: Low,
			description: "SSH does not forward X11",
			expected:    "X11Forwarding no",
			remediation: "Set `X11Forwarding no` in /etc/ssh/sshd_config and reload sshd; devices seldom run X clients.",
			run:         yesNoCheck("X11Forwarding", "no"),
		},
		{
			id: "ssh.protocol", severity: High,
			description: "SSH does not offer protocol version 1",
			expected:    "Protocol 2 (or unset)",
			remediation: "Remove `Protocol` from /etc/ssh/sshd_config or set `Protocol 2`; upgrade an sshd old enough to speak protocol 1.",
			run:         protocol,
		},
	}
}

func maxAuthTries(e *env) outcome {
	v, actual, reason, err := e.sshValue("MaxAuthTries", "6")
	if err != nil {
		return errored(err)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return outcome{Error, actual, fmt.Sprintf("%s: MaxAuthTries %q is not a number (sshd refuses this file)", reason, v)}
	}
	if n > 4 {
		return fail(actual, reason)
	}
	return pass(actual, reason)
}

func protocol(e *env) outcome {
	v, actual, reason, err := e.sshValue("Protocol", "2")
	if err != nil {
		return errored(err)
	}
	for p := range strings.SplitSeq(v, ",") {
		if strings.TrimSpace(p) == "1" {
			return fail(actual, reason)
		}
	}
	return pass(actual, reason)
}
