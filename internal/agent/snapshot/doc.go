// Package snapshot takes snapshots of a Linux device's security posture —
// listening ports, firewall, users and groups, OS baseline checks and
// system information — reading everything relative to a root directory so
// that tests and tools can point it at a fixture tree, and computes the
// differences between two snapshots of a kind so that the agent sends a
// full snapshot once and then only what changed.
//
// The collectors live in sub-packages (ports, firewall, users, baseline,
// sysinfo); this package ties them together (Collector), diffs (Diff…)
// and remembers what was last sent (Tracker).
package snapshot
