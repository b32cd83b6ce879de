// Package e2e holds end-to-end tests of the moat-agent binary: it is built
// into a temporary directory and run as a separate process against a real
// Moat server started in the test (crash and restart with kill -9). The
// package has no code of its own.
package e2e
