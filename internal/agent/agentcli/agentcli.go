// Package agentcli is the command line of moat-agent: run, replay,
// snapshot and bench footprint.
package agentcli

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/convert"
	"github.com/moatsec/moat/internal/agent/snapshot"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agentconf"
	"github.com/moatsec/moat/secmsg"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Main runs the command line and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "moat-agent:", err)
		return 1
	}
	return 0
}

type globals struct {
	stdout, stderr io.Writer
	configFile     string
	cfg            agent.Config
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr, cfg: agent.Defaults()}
	root := &cobra.Command{
		Use:           "moat-agent",
		Short:         "Moat's on-device security agent",
		Long:          "moat-agent watches a Linux device's logins, processes, connections, ports, firewall,\nusers and OS baseline and sends compact security messages to a Moat hub. See docs/agent.md.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       agent.Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	f := root.PersistentFlags()
	f.StringVar(&g.configFile, "config", "", "YAML configuration file (flags override it)")
	f.StringVar(&g.cfg.Server, "server", "", "Moat server URL, e.g. https://moat.example.com:8443")
	f.StringVar(&g.cfg.Namespace, "namespace", "", "the server's namespace (default: the server URL's host)")
	f.StringVar(&g.cfg.Device, "device", "", "registered device id")
	f.StringVar(&g.cfg.Key, "key", "", "device key, base64 (prefer --key-file: arguments are visible to other users)")
	f.StringVar(&g.cfg.KeyFile, "key-file", "", "file holding the device key")
	f.StringVar(&g.cfg.Cert, "cert", "", "PEM client certificate (mTLS instead of a key)")
	f.StringVar(&g.cfg.CertKey, "cert-key", "", "PEM key of --cert")
	f.StringVar(&g.cfg.CA, "ca", "", "PEM CA file to trust for the server")
	f.BoolVar(&g.cfg.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify the server's certificate (testing only)")
	f.StringVar(&g.cfg.Root, "root", "/", "prefix for /proc, /etc and /var/log (fixture trees)")
	f.StringVar(&g.cfg.State, "state", "/var/lib/moat-agent", "state directory: spool, checkpoints, agent id")
	f.StringVar(&g.cfg.AuthLog, "auth-log-path", "", "auth log to follow (default /var/log/auth.log, else /var/log/secure)")
	f.StringVar(&g.cfg.Audit, "audit", "auto", "audit source: auto, netlink, file or off")
	f.StringVar(&g.cfg.AuditLog, "audit-log-path", "", "auditd log (default /var/log/audit/audit.log)")
	f.BoolVar(&g.cfg.AuditRules, "audit-rules", true, "install the audit rules the agent needs, when permitted")
	f.DurationVar(&g.cfg.ConfigPoll, "config-poll", time.Hour, "how often the remote configuration is fetched")
	f.StringVar(&g.cfg.LogLevel, "log-level", "info", "debug, info, warn or error")
	root.AddCommand(newRunCmd(g), newReplayCmd(g), newSnapshotCmd(g), newBenchCmd(g))
	return root
}

// load applies the config file under the flags that were set.
func (g *globals) load(cmd *cobra.Command, validate bool) error {
	if g.configFile != "" {
		flagCfg := g.cfg
		c := agent.Defaults()
		if err := c.LoadFile(g.configFile); err != nil {
			return err
		}
		// Flags given on the command line win over the file.
		cmd.Flags().Visit(func(f *pflag.Flag) { overlay(&c, &flagCfg, f.Name) })
		g.cfg = c
	}
	if validate {
		return g.cfg.Validate()
	}
	return nil
}

func overlay(dst, src *agent.Config, flag string) {
	switch flag {
	case "server":
		dst.Server = src.Server
	case "namespace":
		dst.Namespace = src.Namespace
	case "device":
		dst.Device = src.Device
	case "key":
		dst.Key = src.Key
	case "key-file":
		dst.KeyFile = src.KeyFile
	case "cert":
		dst.Cert = src.Cert
	case "cert-key":
		dst.CertKey = src.CertKey
	case "ca":
		dst.CA = src.CA
	case "insecure-skip-verify":
		dst.InsecureSkipVerify = src.InsecureSkipVerify
	case "root":
		dst.Root = src.Root
	case "state":
		dst.State = src.State
	case "auth-log-path":
		dst.AuthLog = src.AuthLog
	case "audit":
		dst.Audit = src.Audit
	case "audit-log-path":
		dst.AuditLog = src.AuditLog
	case "audit-rules":
		dst.AuditRules = src.AuditRules
	case "config-poll":
		dst.ConfigPoll = src.ConfigPoll
	case "log-level":
		dst.LogLevel = src.LogLevel
	}
}

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(g.cfg.LogLevel))
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: lvl}))
}

func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run [--config FILE] [flags]",
		Short: "Collect and send security events until SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.load(cmd, true); err != nil {
				return err
			}
			log := g.logger()
			b, err := agent.Build(g.cfg, agent.BuildOptions{Logger: log})
			if err != nil {
				return err
			}
			defer b.Close()
			log.Info("moat-agent started", "version", agent.Version, "server", g.cfg.Server, "device", g.cfg.Device,
				"audit", g.cfg.Audit, "state", g.cfg.State)
			err = b.Run(cmd.Context())
			log.Info("moat-agent stopped")
			return err
		},
	}
}

func newReplayCmd(g *globals) *cobra.Command {
	var authLog, auditLog string
	var speed float64
	var fast bool
	var year int
	cmd := &cobra.Command{
		Use:   "replay --auth-log FILE [--audit-log FILE] [--speed N | --as-fast-as-possible]",
		Short: "Send a recorded log through the agent's pipeline, with its own timestamps",
		Long: `Feed a recorded auth log (and audit log) through the same parser, attempt counting,
aggregation, spool and transport as the running agent. Events keep the timestamps
of the lines; classic syslog lines have no year, which is taken from --year or
inferred from today (a date more than two days ahead is of the previous year).
--speed N replays N times faster than the log was written; --as-fast-as-possible
does not wait at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if authLog == "" && auditLog == "" {
				return errors.New("give --auth-log, --audit-log or both")
			}
			if !fast && speed <= 0 {
				return errors.New("give --speed N (N > 0) or --as-fast-as-possible")
			}
			if fast {
				speed = 0
			}
			if err := g.load(cmd, true); err != nil {
				return err
			}
			o := agent.ReplayOptions{Speed: speed}
			if year > 0 {
				// Two days before the year's end: with the parser's two days
				// of slack every date of the year resolves to it.
				o.Reference = time.Date(year, 12, 29, 23, 59, 59, 0, time.UTC)
			}
			for _, p := range []struct {
				path string
				dst  *io.Reader
			}{{authLog, &o.AuthLog}, {auditLog, &o.AuditLog}} {
				if p.path == "" {
					continue
				}
				f, err := os.Open(p.path)
				if err != nil {
					return err
				}
				defer f.Close()
				*p.dst = f
			}
			b, err := agent.Build(g.cfg, agent.BuildOptions{Logger: g.logger(), Clock: agent.NewVirtualClock(time.Time{}, time.Time{}),
				NoAuthLog: true, NoAudit: true, NoSnapshots: true})
			if err != nil {
				return err
			}
			defer b.Close()
			st, err := b.Replay(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "replayed %d lines (%d unparsed) from %s to %s\n", st.Lines, st.Unparsed,
				st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339))
			fmt.Fprintf(g.stdout, "  %d failed login attempts, %d successful logins, %d audit events; %d PAM failures without a verdict at the end\n",
				st.FailedAttempts, st.SuccessfulLogins, st.AuditEvents, st.PendingPAM)
			fmt.Fprintf(g.stdout, "  sent %d events in %d requests\n", st.EventsOut, st.Requests)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&authLog, "auth-log", "", "sshd/PAM syslog file to replay")
	f.StringVar(&auditLog, "audit-log", "", "audit.log file to replay")
	f.Float64Var(&speed, "speed", 0, "replay N times faster than real time")
	f.BoolVar(&fast, "as-fast-as-possible", false, "do not wait between lines")
	f.IntVar(&year, "year", 0, "year of classic syslog timestamps (default: inferred from today)")
	return cmd
}

func newSnapshotCmd(g *globals) *cobra.Command {
	var print bool
	var firewallFile string
	var littleEndian bool
	cmd := &cobra.Command{
		Use:   "snapshot --print [--root DIR]",
		Short: "Take every snapshot and print it as a security message (nothing is sent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !print {
				return errors.New("snapshot needs --print (it never sends)")
			}
			if err := g.load(cmd, false); err != nil {
				return err
			}
			o := snapshot.Options{Root: g.cfg.Root}
			if firewallFile != "" {
				o.Firewall = firewall.Options{File: firewallFile}
			}
			if littleEndian {
				o.ByteOrder = binary.LittleEndian
			}
			src := convert.Snapshots{C: snapshot.New(o)}
			now := time.Now()
			var evs []secmsg.Event
			for _, name := range agentconf.SnapshotEvents {
				items, err := src.Items(cmd.Context(), name)
				if err != nil {
					// What cannot be read is left out, as the running agent does.
					fmt.Fprintf(g.stderr, "moat-agent: %s left out: %v\n", name, err)
					continue
				}
				evs = append(evs, secmsg.NewEvent(name, now, items...))
			}
			m := secmsg.NewMessage(agent.Version, "00000000-0000-4000-8000-000000000000", evs...)
			b, err := m.Marshal()
			if err != nil {
				return err
			}
			var pretty strings.Builder
			var v any
			_ = json.Unmarshal(b, &v)
			enc := json.NewEncoder(&pretty)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			_ = enc.Encode(v)
			_, err = io.WriteString(g.stdout, pretty.String())
			return err
		},
	}
	cmd.Flags().BoolVar(&print, "print", false, "print the snapshot")
	cmd.Flags().StringVar(&firewallFile, "firewall-file", "", "read nft -j or iptables-save output from this file instead of running the commands")
	cmd.Flags().BoolVar(&littleEndian, "little-endian-proc", false, "the /proc/net files under --root come from a little-endian kernel")
	return cmd
}
