package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/moatsec/moat/internal/agentconf"
	"github.com/spf13/cobra"
)

// readLayer reads a JSON layer from FILE ("-" = standard input).
func readLayer(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	}
	return os.ReadFile(file)
}

func layerTable(w *tabwriter.Writer, c agentconf.Config) {
	b, _ := json.MarshalIndent(c, "", "  ")
	fmt.Fprintln(w, string(b))
}

func newDeviceAgentConfigCmd(g *globals) *cobra.Command {
	var set string
	var clear, resync bool
	cmd := &cobra.Command{
		Use:   "agent-config ID [--set FILE | --clear | --resync]",
		Short: "Show or change a device's agent configuration",
		Long: `Without flags, show the configuration device ID's moat-agent applies (defaults, then the
fleet's layer, then the device's own) and its version. --set FILE replaces the device's own
layer with the JSON in FILE ("-" reads standard input), e.g. {"eventPriorities": {"ProcessCreate": "Off"}};
--clear removes it (the device follows the fleet's layer); --resync asks the agent to send every
snapshot in full at its next configuration poll. The keys are in docs/agent.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, b := range []bool{set != "", clear, resync} {
				if b {
					n++
				}
			}
			if n > 1 {
				return errors.New("give at most one of --set, --clear and --resync")
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			switch {
			case set != "":
				data, err := readLayer(set)
				if err != nil {
					return err
				}
				if _, err := c.PutAgentConfig(ctx, args[0], data); err != nil {
					return err
				}
			case clear:
				if err := c.DeleteAgentConfig(ctx, args[0]); err != nil {
					return err
				}
			case resync:
				cur, err := c.AgentConfig(ctx, args[0])
				if err != nil {
					return err
				}
				own := cur.Own
				own.Resync = time.Now().UTC().Format(time.RFC3339Nano)
				data, _ := json.Marshal(own)
				if _, err := c.PutAgentConfig(ctx, args[0], data); err != nil {
					return err
				}
			}
			ac, err := c.AgentConfig(ctx, args[0])
			if err != nil {
				return err
			}
			return g.print(ac, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "device:\t%s\nversion:\t%s\n", ac.Device, ac.Version)
				layerTable(w, ac.Config)
			})
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "replace the device's layer with the JSON in FILE (- = stdin)")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the device's layer")
	cmd.Flags().BoolVar(&resync, "resync", false, "ask the agent for full snapshots")
	return cmd
}

func newAgentConfigCmd(g *globals) *cobra.Command {
	var set string
	cmd := &cobra.Command{
		Use:   "agent-config [--set FILE]",
		Short: "Show or replace the fleet's layer of the agent configuration",
		Long: `Show the fleet's layer of the moat-agent configuration (the settings every device gets unless
its own layer overrides them), or replace it with the JSON in FILE ("-" reads standard input).
The keys are in docs/agent.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			if set != "" {
				data, err := readLayer(set)
				if err != nil {
					return err
				}
				if _, err := c.PutFleetAgentConfig(cmd.Context(), data); err != nil {
					return err
				}
			}
			l, err := c.FleetAgentConfig(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(l, func(w *tabwriter.Writer) { layerTable(w, l.Config) })
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "replace the fleet's layer with the JSON in FILE (- = stdin)")
	return cmd
}
