// Package baseline runs OS hardening checks against a device root: the
// global values of sshd_config (with its Include files), permissions of
// the account files, world-writable PATH directories, kernel settings,
// extra uid-0 accounts, empty passwords and auditd. Each check has a
// stable id and ends Pass, Fail or Error; a file it cannot read is an
// Error with the reason, never a Pass.
package baseline
