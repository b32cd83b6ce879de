package baseline

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
	"github.com/moatsec/moat/internal/agent/snapshot/users"
)

func accountChecks() []definition {
	return []definition{
		{
			id: "accounts.uid0_only_root", severity: Critical,
			description: "root is the only account with uid 0",
			expected:    "only root has uid 0",
			remediation: "Remove or renumber the other uid-0 accounts (userdel, or usermod -u); an extra uid-0 account is a classic backdoor.",
			run:         uid0,
		},
		{
			id: "accounts.empty_passwords", severity: Critical,
			description: "No account has an empty password",
			expected:    "no empty password field in /etc/shadow or /etc/passwd",
			remediation: "Lock each listed account (passwd -l NAME) or give it a password.",
			run:         emptyPasswords,
		},
		{
			id: "audit.auditd_installed", severity: Low,
			description: "The Linux audit daemon is installed",
			expected:    "auditd present",
			remediation: "Install auditd (apt-get install auditd, or the distribution's audit package) so security events are recorded.",
			run:         auditd,
		},
	}
}

func (e *env) passwd() ([]users.Entry, error) {
	data, err := e.root.ReadFile("etc/passwd")
	if err != nil {
		return nil, err
	}
	entries, _ := users.ParsePasswd("etc/passwd", data) // lines skipped there are reported by the users collector
	return entries, nil
}

func uid0(e *env) outcome {
	entries, err := e.passwd()
	if err != nil {
		return errored(err)
	}
	var extra []string
	for _, u := range entries {
		if u.UID == 0 && u.Name != "root" {
			extra = append(extra, u.Name)
		}
	}
	if len(extra) > 0 {
		return fail("uid 0: root, "+strings.Join(extra, ", "), "etc/passwd")
	}
	return pass("uid 0: root only", "etc/passwd")
}

// ParseShadowLine returns the name and password hash of an /etc/shadow
// line ("name:hash:lastchg:…").
func ParseShadowLine(line string) (name, hash string, err error) {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' {
		return "", "", errBlank
	}
	f := strings.SplitN(line, ":", 3)
	if len(f) < 3 || f[0] == "" {
		return "", "", fmt.Errorf("%s: want name:hash:…", hostfs.Quote(line))
	}
	return clean(f[0]), f[1], nil
}

func emptyPasswords(e *env) outcome {
	entries, err := e.passwd()
	if err != nil {
		return errored(err)
	}
	var empty []string
	for _, u := range entries {
		if u.Password == "" { // no shadow entry needed: no password at all
			empty = append(empty, u.Name+" (passwd)")
		}
	}
	data, err := e.root.ReadFile("etc/shadow")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && len(empty) > 0 {
			return fail(strings.Join(empty, ", "), "etc/passwd")
		}
		return errored(err)
	}
	for _, line := range hostfs.Lines(data) {
		name, hash, err := ParseShadowLine(line)
		if err == nil && hash == "" {
			empty = append(empty, name)
		}
	}
	slices.Sort(empty)
	empty = slices.Compact(empty)
	if len(empty) > 0 {
		return fail("empty: "+strings.Join(empty, ", "), "etc/shadow")
	}
	return pass("none empty", "etc/shadow")
}

// auditdPaths are where distributions install the audit daemon.
func auditdPaths() []string {
	return []string{"sbin/auditd", "usr/sbin/auditd", "usr/bin/auditd"}
}

func auditd(e *env) outcome {
	var errs []string
	for _, p := range auditdPaths() {
		_, err := e.root.Stat(p)
		if err == nil {
			return pass("/"+p, "")
		}
		if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return erroredf(strings.Join(errs, "; "))
	}
	return fail("not found", "looked for /"+strings.Join(auditdPaths(), ", /"))
}
