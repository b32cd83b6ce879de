// Package archtest holds tests that keep the architecture honest: every
// package has a package comment, only internal/eventlog speaks NATS and only
// internal/store speaks SQL. It has no non-test code.
package archtest
