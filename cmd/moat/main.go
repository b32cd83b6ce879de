// Command moat is the Moat server and its admin CLI: `moat serve` runs a
// node; the other commands talk to a running node over its REST API.
package main

import (
	"os"

	"github.com/moatsec/moat/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
