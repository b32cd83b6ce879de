package agentcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
	"github.com/spf13/cobra"
)

// fixtureRoot writes the named fixture tree into a new temporary directory
// and points the configuration's root (and its state, unless one was
// given) there. It returns the fixture's firewall file; cleanup removes the
// directory.
func (g *globals) fixtureRoot(name, prefix string) (firewallFile string, cleanup func(), err error) {
	f, err := snapshottest.Open(name)
	if err != nil {
		return "", nil, fmt.Errorf("fixture %s (run from a source checkout): %w", name, err)
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := f.Materialize(root); err != nil {
		cleanup()
		return "", nil, err
	}
	g.cfg.Root = root
	if g.cfg.State == agent.Defaults().State {
		g.cfg.State = filepath.Join(dir, "state")
	}
	return f.FirewallFile, cleanup, nil
}

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure the agent"}
	cmd.AddCommand(newFootprintCmd(g), newSteadyCmd(g), newWriterCmd())
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
				ff, cleanup, err := g.fixtureRoot(fixture, "moat-footprint-")
				if err != nil {
					return err
				}
				defer cleanup()
				firewallFile = ff
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

func newSteadyCmd(g *globals) *cobra.Command {
	var o agent.SteadyOptions
	var fixture, cpuprofile string
	cmd := &cobra.Command{
		Use:   "steady --server URL --device ID --key KEY [--fixture iotdevice] [--rate 50] [--duration 60s]",
		Short: "Measure the agent's CPU and memory while the auth log grows at --rate lines/s",
		Long: `Run the agent on the real clock against a real Moat server while failed-login lines are
appended to the auth log of a fixture tree at --rate per second, and report this process's CPU
(percent of one core) and resident memory over --duration, after --warmup. The lines are written
by a child process (moat-agent bench write-logins), so its cost is not counted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ff, cleanup, err := g.fixtureRoot(fixture, "moat-steady-")
			if err != nil {
				return err
			}
			defer cleanup()
			o.Firewall = &firewall.Options{File: ff}
			if err := g.load(cmd, true); err != nil {
				return err
			}
			g.cfg.Audit, g.cfg.AuthLog = "off", "/var/log/auth.log"
			if cpuprofile != "" {
				pf, err := os.Create(cpuprofile)
				if err != nil {
					return err
				}
				defer pf.Close()
				if err := pprof.StartCPUProfile(pf); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			o.StartWriter = func(path string, rate int) (func() int64, error) { return startWriter(cmd.Context(), path, rate) }
			r, err := agent.Steady(cmd.Context(), g.cfg, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%d lines in %s (%.1f/s): CPU %s = %.2f%% of one core\n", r.Lines, o.Duration,
				float64(r.Lines)/o.Duration.Seconds(), r.CPU.Round(time.Millisecond), r.CPUPercent)
			fmt.Fprintf(g.stdout, "  RSS: highest sampled %.1f MiB, high-water mark %.1f MiB; sent %d events in %d messages\n",
				float64(r.RSSMaxKiB)/1024, float64(r.RSSPeakKiB)/1024, r.EventsSent, r.MessageSent)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Rate, "rate", 50, "failed-login lines per second")
	f.DurationVar(&o.Duration, "duration", time.Minute, "measured time")
	f.DurationVar(&o.Warmup, "warmup", 15*time.Second, "time before measuring")
	f.StringVar(&fixture, "fixture", snapshottest.IoTDevice, "fixture tree (needs the source checkout)")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile to FILE")
	return cmd
}

// startWriter runs "moat-agent bench write-logins" as a child process, so
// the line writer's CPU is not the agent's, and follows its count.
func startWriter(ctx context.Context, path string, rate int) (func() int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := exec.CommandContext(ctx, exe, "bench", "write-logins", "--file", path, "--rate", strconv.Itoa(rate))
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		return nil, err
	}
	var n atomic.Int64
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				n.Store(v)
			}
		}
		_ = c.Wait()
	}()
	return n.Load, nil
}

func newWriterCmd() *cobra.Command {
	var file string
	var rate int
	cmd := &cobra.Command{
		Use:    "write-logins --file F --rate N",
		Short:  "Append failed-login lines to F at N per second (for bench steady)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var n atomic.Int64
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go func() {
				t := time.NewTicker(200 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						fmt.Fprintln(cmd.OutOrStdout(), n.Load())
					}
				}
			}()
			return agent.WriteFailedLogins(ctx, file, rate, &n)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "file to append to")
	cmd.Flags().IntVar(&rate, "rate", 50, "lines per second")
	return cmd
}
