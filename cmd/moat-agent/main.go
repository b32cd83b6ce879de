// Command moat-agent is Moat's on-device security agent. See docs/agent.md.
package main

import (
	"os"

	"github.com/moatsec/moat/internal/agent/agentcli"
)

func main() { os.Exit(agentcli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
