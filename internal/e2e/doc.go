// Package e2e holds end-to-end tests that build the moat binary and run it as
// a separate process: crash recovery after kill -9, graceful SIGTERM, and the
// CLI against a live server. It has no non-test code.
package e2e
