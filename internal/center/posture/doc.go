// Package posture computes the security center's recommendations and the
// devices' posture scores from what the center knows of each device: its
// latest snapshot items (listening ports, firewall, OS baseline), its
// agent's totals, and the hub's shared keys.
//
// It does no I/O: Compute and Scores take plain values and return plain
// values, so the same input always gives the same output. The rules, their
// severities and remediations are described in docs/recommendations.md.
package posture
