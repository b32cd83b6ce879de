package e2e_test

import (
	"testing"

	"github.com/moatsec/moat/internal/agent/agenttest"
)

// events returns the agent events the hub stored (retrying transient read
// errors: the tests poll the stream while the agent writes to it).
func events(t *testing.T, env *agenttest.Env) []agenttest.Event {
	t.Helper()
	return env.Events(t)
}
