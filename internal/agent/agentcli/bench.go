package agentcli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
	"github.com/spf13/cobra"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure the agent"}
	cmd.AddCommand(newFootprintCmd(g))
	return cmd
}

func newFootprintCmd(g *globals) *cobra.Command {
	var o agent.FootprintOptions
	var fixture, firewallFile string
	cmd := &cobra.Command{
		Use:   "footprint --server URL --device ID --key KEY [--fixture iotdevice | --root DIR --firewall-file F] [--duration 24h]",
		Short: "Run the real agent for a simulated day against a real hub and report what it sent",
		Long: `Run the agent, unchanged, on a simulated clock for --duration (default a day) against a real
Moat server, with the device's file system taken from a fixture tree of a typical idle IoT device
(--fixture iotdevice, from a source checkout) or from --root. It reports the bytes that crossed the
network (TLS, headers and bodies, both directions; a connection idle for 90 s of simulated time is
closed, as it would be), messages per day, token requests a real day needs, and this process's CPU
time and peak RSS. The device must be registered (moat device create).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fixture != "" {
				dir, err := os.MkdirTemp("", "moat-footprint-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				f, err := snapshottest.Open(fixture)
				if err != nil {
					return fmt.Errorf("fixture %s (run from a source checkout): %w", fixture, err)
				}
				root := filepath.Join(dir, "root")
				if err := os.Mkdir(root, 0o755); err != nil {
					return err
				}
				if err := f.Materialize(root); err != nil {
					return err
				}
				g.cfg.Root, firewallFile = root, f.FirewallFile
				if g.cfg.State == agent.Defaults().State {
					g.cfg.State = filepath.Join(dir, "state")
				}
			}
			if firewallFile == "" {
				return errors.New("give --fixture, or --firewall-file with --root")
			}
			o.Firewall = &firewall.Options{File: firewallFile}
			if err := g.load(cmd, true); err != nil {
				return err
			}
			g.cfg.Audit = "off"
			r, err := agent.Footprint(cmd.Context(), g.cfg, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "simulated %s in %s: %d sends, %d configuration polls, %d messages, %d events\n",
				r.Simulated, r.RealElapsed.Round(time.Millisecond), r.Sends, r.ConfigPolls, r.Messages, r.Events)
			fmt.Fprintf(g.stdout, "  request bodies %d bytes (gzip); on the wire %d bytes measured + %d token requests × %d bytes\n",
				r.BodyBytes, r.WireBytes, max(r.TokenRequests-1, 0), r.TokenRequestBytes)
			fmt.Fprintf(g.stdout, "  per day: %.0f bytes (%.3f MB), %.0f messages\n", r.WireBytesPerDay, r.WireBytesPerDay/1e6, r.MessagesPerDay)
			fmt.Fprintf(g.stdout, "  CPU time %s, peak RSS %.1f MiB\n", r.CPUTime.Round(time.Millisecond), float64(r.PeakRSSKiB)/1024)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Duration, "duration", 24*time.Hour, "simulated time")
	f.DurationVar(&o.TokenTTL, "token-ttl", 5*time.Minute, "the device's token lifetime (its policy's tokenTTL)")
	f.StringVar(&fixture, "fixture", "", "fixture tree to run on: iotdevice or baddevice (needs the source checkout)")
	f.StringVar(&firewallFile, "firewall-file", "", "with --root: nft -j or iptables-save output of the device")
	return cmd
}
