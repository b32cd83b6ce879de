package cli

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/moatsec/moat/internal/sim"
	"github.com/spf13/cobra"
)

func newSimCmd(g *globals) *cobra.Command {
	var o sim.Options
	var attack string
	var attempts int
	var success bool
	var attacker string
	cmd := &cobra.Command{
		Use:   "sim --devices N [--hub H] [--attack ssh-brute-force[:DEVICE]] [--duration D] [--telemetry-rate R]",
		Short: "Simulate a fleet of devices running moat-agent, and an attack on one of them",
		Long: `Register --devices devices PREFIX-0001… on --hub (created if missing) with fresh keys in one
bulk import (existing devices of the same names are replaced and enabled), then play them against
the server as devices running moat-agent: each gets its publisher token from discovery with its
key, sends the five Full snapshots at start (gzip, marked as security messages), MessageStatistics
every --stats-interval and telemetry at --telemetry-rate events per second.

--attack ssh-brute-force[:DEVICE] makes DEVICE (an ID or a number; default the first) report
--attempts failed SSH logins from --attacker spread over --attack-window, aggregated per
--flush-interval as the agent does, then with --success one successful login. The summary says
when the last attack event was accepted and whether the device's next send was refused
(quarantined, publisher_revoked), which shows the center's automatic quarantine.

Without --duration the run ends once every device sent its snapshots and the attack is over,
plus one telemetry round. Needs a connection string with Manage rights (--connection-string
or --data). See docs/sim.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Attack, err = sim.ParseAttack(attack); err != nil {
				return err
			}
			if o.Attack.Kind == "" && (cmd.Flags().Changed("attempts") || success || cmd.Flags().Changed("attacker")) {
				return errors.New("--attempts, --success and --attacker need --attack")
			}
			o.Attack.Attempts, o.Attack.Success, o.Attack.From = attempts, success, attacker
			if o.Conn, err = g.connectionString(); err != nil {
				return err
			}
			if o.TLS, err = g.tlsConfig(); err != nil {
				return err
			}
			o.Server = g.server
			log := cmd.OutOrStdout()
			if g.output == "json" {
				log = cmd.ErrOrStderr()
			}
			o.OnProgress = func(p sim.Progress) { printProgress(log, p) }
			fmt.Fprintf(log, "sim: registering %d devices on hub %s, then playing them (Ctrl-C ends the run)\n", o.Devices, o.Hub)
			res, err := sim.Run(cmd.Context(), o)
			if err != nil && (res.Devices == 0 || cmd.Context().Err() == nil) {
				return err
			}
			if err != nil {
				fmt.Fprintln(log, "sim: interrupted")
			}
			return g.print(res, func(w *tabwriter.Writer) { res.Print(w) })
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Devices, "devices", 10, fmt.Sprintf("devices to simulate (1 to %d)", sim.MaxDevices))
	f.StringVar(&o.Hub, "hub", sim.DefaultHub, "hub the devices send to (created if missing)")
	f.IntVar(&o.Partitions, "partitions", 0, "partitions of the hub if the run creates it (0 = the server's default)")
	f.StringVar(&o.Prefix, "prefix", sim.DefaultPrefix, "device IDs are PREFIX-0001, PREFIX-0002…")
	f.StringVar(&attack, "attack", "", "ssh-brute-force[:DEVICE]: play an SSH brute force on DEVICE (ID or number; default the first)")
	f.IntVar(&attempts, "attempts", sim.DefaultAttempts, "failed logins of the attack")
	f.BoolVar(&success, "success", false, "end the attack with one successful login from the same address")
	f.StringVar(&attacker, "attacker", sim.DefaultAttacker, "the attacker's IP address")
	f.DurationVar(&o.Duration, "duration", 0, "stop after this long (0 = once the snapshots and the attack are sent, plus one telemetry round)")
	f.Float64Var(&o.TelemetryRate, "telemetry-rate", sim.DefaultTelemetryRate, "telemetry events per device per second (0 = none)")
	f.IntVar(&o.Concurrency, "concurrency", sim.DefaultConcurrency, "devices acting at once (requests in flight)")
	f.DurationVar(&o.Ramp, "ramp", 0, "spread the devices' starts over this long (0 = 2ms per device, at most 30s)")
	f.DurationVar(&o.AttackWindow, "attack-window", sim.DefaultAttackWindow, "the attack's failed logins are spread over this long")
	f.DurationVar(&o.FlushInterval, "flush-interval", sim.DefaultFlushInterval, "failed logins are aggregated and sent this often (the agent's 10s)")
	f.DurationVar(&o.StatsInterval, "stats-interval", sim.DefaultStatsInterval, "MessageStatistics are sent this often")
	return cmd
}

// printProgress writes one line about the attack's target.
func printProgress(w io.Writer, p sim.Progress) {
	at := p.Send.At.UTC().Format("15:04:05.000Z")
	switch {
	case p.Send.Kind == sim.KindLoginFailures:
		fmt.Fprintf(w, "%s %s reported %d failed SSH logins (%d/%d accepted): %s\n", at, p.Device, p.Failures, p.Reported, p.Planned, p.Send)
	case p.Send.Kind == sim.KindLoginSuccess:
		fmt.Fprintf(w, "%s %s reported the attacker's successful login: %s\n", at, p.Device, p.Send)
	case p.Refusal:
		fmt.Fprintf(w, "%s %s refused after the attack (%s): %s\n", at, p.Device, p.Send.Kind, p.Send)
	case p.AfterAttack && p.AttackOver:
		fmt.Fprintf(w, "%s %s next send after the attack (%s): %s\n", at, p.Device, p.Send.Kind, p.Send)
	}
}
