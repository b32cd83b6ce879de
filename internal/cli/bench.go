package cli

import "github.com/spf13/cobra"

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure a server: ingest throughput and latency"}
	return cmd
}
