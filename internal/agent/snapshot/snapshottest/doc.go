// Package snapshottest gives tests and benchmarks of any package the
// fixture device trees under internal/agent/snapshot/testdata/roots: as an
// in-memory fstest.MapFS with the owners, modes and /proc symbolic links
// their manifest describes, or written out to a directory for --root.
package snapshottest
