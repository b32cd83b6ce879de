package baseline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

func fileChecks() []definition {
	return []definition{
		{
			id: "fs.shadow_permissions", severity: High,
			description: "/etc/shadow is owned by root and not readable by others",
			expected:    "owner uid 0, mode 0640 or stricter",
			remediation: "chown root:shadow /etc/shadow && chmod 0640 /etc/shadow (or root:root 0600).",
			run:         filePerm("etc/shadow", 0o640),
		},
		{
			id: "fs.passwd_permissions", severity: High,
			description: "/etc/passwd is owned by root and writable by root only",
			expected:    "owner uid 0, mode 0644 or stricter",
			remediation: "chown root:root /etc/passwd && chmod 0644 /etc/passwd.",
			run:         filePerm("etc/passwd", 0o644),
		},
		{
			id: "fs.group_permissions", severity: Medium,
			description: "/etc/group is owned by root and writable by root only",
			expected:    "owner uid 0, mode 0644 or stricter",
			remediation: "chown root:root /etc/group && chmod 0644 /etc/group.",
			run:         filePerm("etc/group", 0o644),
		},
		{
			id: "fs.path_world_writable", severity: High,
			description: "No directory in root's PATH is world-writable or relative",
			expected:    "every PATH directory absolute and not world-writable",
			remediation: "chmod o-w each listed directory (and remove relative or empty entries from PATH): anyone who can write there can plant a command root will run.",
			run:         pathDirs,
		},
	}
}

// filePerm passes when the file is owned by uid 0 and its permission bits
// are within max.
func filePerm(name string, max fs.FileMode) func(*env) outcome {
	return func(e *env) outcome {
		fi, err := e.root.Stat(name)
		if err != nil {
			return errored(err)
		}
		uid, gid, ok := hostfs.Owner(fi)
		if !ok {
			return erroredf(name + ": owner not available from this file system")
		}
		perm := fi.Mode().Perm()
		actual := fmt.Sprintf("owner %d:%d, mode %04o", uid, gid, perm)
		var bad []string
		if uid != 0 {
			bad = append(bad, "not owned by root")
		}
		if extra := perm &^ max; extra != 0 {
			bad = append(bad, fmt.Sprintf("permissions %04o beyond %04o", extra, max))
		}
		if fi.Mode()&fs.ModeSetuid != 0 || fi.Mode()&fs.ModeSetgid != 0 {
			bad = append(bad, "setuid or setgid bit")
		}
		if len(bad) > 0 {
			return fail(actual, name+": "+strings.Join(bad, ", "))
		}
		return pass(actual, name)
	}
}

// pathDirs checks every entry of the PATH under the root. Missing
// directories are skipped; unreadable ones make the check an Error unless
// another entry already fails it.
func pathDirs(e *env) outcome {
	var bad, errs []string
	checked := 0
	for dir := range strings.SplitSeq(e.path, ":") {
		if dir == "" || !path.IsAbs(dir) {
			bad = append(bad, fmt.Sprintf("%q (relative)", dir))
			continue
		}
		fi, err := e.root.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if !fi.IsDir() {
			continue
		}
		checked++
		if fi.Mode().Perm()&0o002 != 0 {
			bad = append(bad, fmt.Sprintf("%s (%04o)", dir, fi.Mode().Perm()))
		}
	}
	switch {
	case len(bad) > 0:
		return fail(strings.Join(bad, ", "), "PATH="+e.path)
	case len(errs) > 0:
		return outcome{Error, "", strings.Join(errs, "; ")}
	}
	return pass(fmt.Sprintf("%d directories, none world-writable", checked), "PATH="+e.path)
}
