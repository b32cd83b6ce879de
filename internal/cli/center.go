package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/centerapi"
	"github.com/moatsec/moat/internal/center/respond"
	"github.com/moatsec/moat/internal/client"
	"github.com/spf13/cobra"
)

func newEventsCmd(g *globals) *cobra.Command {
	var f client.EventFilter
	var format string
	var max int
	cmd := &cobra.Command{
		Use:   "events [--device D] [--name N] [--source S] [--since 24h] [--until T] [--limit N] [--format table|jsonl|csv]",
		Short: "List stored security events, newest first",
		Long: `List the security events the center stored: agents' events (one per payload item), token
decisions (TokenDecision) and authorization failures (AuthFailure), newest first. --since and
--until take an RFC 3339 time or a duration back from now (24h). --format jsonl prints one JSON
object per line, csv a header and one row per event (fields as key=value;…).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "table", "jsonl", "csv":
			default:
				return fmt.Errorf("--format %q: want table, jsonl or csv", format)
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			var all []centerapi.EventView
			for len(all) < max {
				f.Limit = min(1000, max-len(all))
				page, err := c.SecurityEvents(cmd.Context(), f)
				if err != nil {
					return err
				}
				all = append(all, page.Events...)
				if page.Next == "" {
					break
				}
				f.After = page.Next
			}
			return printEvents(g, format, all)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Device, "device", "", "only this device")
	fl.StringVar(&f.Name, "name", "", "only events of this name (Login, ListeningPorts, TokenDecision, AuthFailure, …)")
	fl.StringVar(&f.Source, "source", "", "only this source: agent, discovery or hub")
	fl.StringVar(&f.Since, "since", "", "RFC 3339 time or duration back from now")
	fl.StringVar(&f.Until, "until", "", "RFC 3339 time or duration back from now")
	fl.IntVar(&max, "limit", 100, "most events to print")
	fl.StringVar(&format, "format", "table", "table, jsonl or csv")
	return cmd
}

func fieldText(f map[string]string) string {
	keys := slices.Sorted(maps.Keys(f))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + f[k]
	}
	return strings.Join(parts, ";")
}

func printEvents(g *globals, format string, evs []centerapi.EventView) error {
	switch format {
	case "jsonl":
		enc := json.NewEncoder(g.stdout)
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		w := csv.NewWriter(g.stdout)
		_ = w.Write([]string{"time", "device", "hub", "source", "name", "count", "change", "fields", "id"})
		for _, e := range evs {
			_ = w.Write([]string{e.Time.Format(time.RFC3339), e.Device, e.Hub, e.Source, e.Name, fmt.Sprint(e.Count), e.Change, fieldText(e.Fields), e.ID})
		}
		w.Flush()
		return w.Error()
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDEVICE\tSOURCE\tNAME\tCOUNT\tFIELDS")
	for _, e := range evs {
		fields := fieldText(e.Fields)
		if len(fields) > 100 {
			fields = fields[:100] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.Time.Format(time.RFC3339), e.Device, e.Source, e.Name, e.Count, fields)
	}
	return tw.Flush()
}

func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "List, show, dismiss and resolve the security center's alerts"}
	var f client.AlertFilter
	list := &cobra.Command{
		Use: "list [--rule R] [--severity S] [--status open|new|active|dismissed|resolved] [--device D] [--since 24h]", Short: "List alerts, newest first",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			page, err := c.Alerts(cmd.Context(), f)
			if err != nil {
				return err
			}
			return g.print(page.Alerts, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tSEVERITY\tRULE\tDEVICE\tSOURCE\tCOUNT\tSTATUS\tLAST SEEN")
				for _, a := range page.Alerts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.ID, a.Severity, a.Rule, a.DeviceID, a.SourceAddress, a.Count, a.Status, a.LastSeen.Format(time.RFC3339))
				}
			})
		},
	}
	fl := list.Flags()
	fl.StringVar(&f.Rule, "rule", "", "only this rule")
	fl.StringVar(&f.Severity, "severity", "", "only this severity")
	fl.StringVar(&f.Status, "status", "", "open (new or active), new, active, dismissed or resolved")
	fl.StringVar(&f.Device, "device", "", "only this device")
	fl.StringVar(&f.Since, "since", "", "last seen since: RFC 3339 time or duration back from now")
	fl.IntVar(&f.Limit, "limit", 100, "most alerts")
	show := &cobra.Command{
		Use: "show ID", Short: "Show an alert with its evidence", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			a, err := c.Alert(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(a, func(w *tabwriter.Writer) { alertTable(w, a) })
		},
	}
	cmd.AddCommand(list, show, alertStatusCmd(g, "dismiss"), alertStatusCmd(g, "resolve"))
	return cmd
}

func alertTable(w *tabwriter.Writer, a center.Alert) {
	fmt.Fprintf(w, "id:\t%s\nrule:\t%s (%s)\nseverity:\t%s\ntechnique:\t%s\ndevice:\t%s\nsource:\t%s\ncount:\t%d\nfirst seen:\t%s\nlast seen:\t%s\nstatus:\t%s\n",
		a.ID, a.Rule, a.Title, a.Severity, a.Technique, a.DeviceID, a.SourceAddress, a.Count, a.FirstSeen.Format(time.RFC3339), a.LastSeen.Format(time.RFC3339), a.Status)
	if a.Remediation != "" {
		fmt.Fprintf(w, "remediation:\t%s\n", a.Remediation)
	}
	for _, e := range a.Evidence {
		fmt.Fprintf(w, "evidence:\t%s %s\n", e.Time.Format(time.RFC3339), e.Excerpt)
	}
}

func alertStatusCmd(g *globals, action string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use: action + " ID [--reason TEXT]", Short: strings.ToUpper(action[:1]) + action[1:] + " an alert (closes it: the next match opens a new one)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			a, err := c.SetAlertStatus(cmd.Context(), args[0], action, reason)
			if err != nil {
				return err
			}
			return g.print(a, func(w *tabwriter.Writer) { alertTable(w, a) })
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

func newRecommendationsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "recommendations", Short: "Show the security posture recommendations and device scores", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			raw, err := c.Recommendations(cmd.Context())
			if err != nil {
				return err
			}
			var body struct {
				Recommendations []struct {
					ID, Title, Severity, Remediation string
					Devices                          []struct{ Device, Detail string }
				}
				Scores map[string]int
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				return err
			}
			return g.print(json.RawMessage(raw), func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "SEVERITY\tID\tDEVICES\tTITLE")
				for _, r := range body.Recommendations {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", r.Severity, r.ID, len(r.Devices), r.Title)
				}
			})
		},
	}
}

func newOverviewCmd(g *globals) *cobra.Command {
	var window string
	cmd := &cobra.Command{
		Use: "overview [--window 24h]", Short: "Most attacked devices, top attacking sources, alerts", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			o, err := c.Overview(cmd.Context(), window)
			if err != nil {
				return err
			}
			return g.print(o, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "window:\t%s (since %s)\n", o.Window, o.Since.Format(time.RFC3339))
				fmt.Fprintf(w, "open alerts:\tHigh %d, Medium %d, Low %d, Informational %d\n", o.OpenAlerts["High"], o.OpenAlerts["Medium"], o.OpenAlerts["Low"], o.OpenAlerts["Informational"])
				fmt.Fprintln(w, "most attacked devices:\tfailed logins")
				for _, e := range o.MostAttacked {
					fmt.Fprintf(w, "  %s\t%d\n", e.Key, e.Count)
				}
				fmt.Fprintln(w, "top attacking sources:\tfailed logins (devices)")
				for _, e := range o.TopSources {
					fmt.Fprintf(w, "  %s\t%d (%d)\n", e.Key, e.Count, e.Devices)
				}
			})
		},
	}
	cmd.Flags().StringVar(&window, "window", "24h", "time window")
	return cmd
}

func newResponseCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "response", Short: "Automatic response policies (quarantine on alert) and the actions taken"}
	var p respond.Policy
	var tags []string
	var disabled bool
	put := &cobra.Command{
		Use:   "put NAME [--rules R1,R2] [--min-severity High] [--tag K=V] [--disabled]",
		Short: "Create or replace a response policy: quarantine the device of a matching alert",
		Long: `Create or replace a response policy. When an alert of one of --rules (any rule if none) at least
--min-severity severe is raised or grows on a device carrying every --tag, the device is quarantined:
its publisher is revoked and its token requests refused. moat device release ID undoes it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Name, p.Action = args[0], respond.ActionQuarantine
			if len(tags) > 0 {
				p.Tags = map[string]string{}
				for _, t := range tags {
					k, v, ok := strings.Cut(t, "=")
					if !ok || k == "" {
						return fmt.Errorf("--tag %q: want KEY=VALUE", t)
					}
					p.Tags[k] = v
				}
			}
			enabled := !disabled
			p.Enabled = &enabled
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			out, err := c.PutResponsePolicy(cmd.Context(), p)
			if err != nil {
				return err
			}
			return g.print(out, func(w *tabwriter.Writer) { policyTable(w, out) })
		},
	}
	put.Flags().StringSliceVar(&p.Rules, "rules", nil, "alert rule ids (default: every rule)")
	put.Flags().StringVar(&p.MinSeverity, "min-severity", "High", "High, Medium, Low or Informational")
	put.Flags().StringArrayVar(&tags, "tag", nil, "device tag KEY=VALUE the device must carry (repeatable)")
	put.Flags().BoolVar(&disabled, "disabled", false, "keep the policy without it acting")
	list := &cobra.Command{
		Use: "list", Short: "List response policies", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			ps, err := c.ResponsePolicies(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(ps, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tENABLED\tRULES\tMIN SEVERITY\tTAGS\tACTION")
				for _, p := range ps {
					fmt.Fprintf(w, "%s\t%v\t%s\t%s\t%s\t%s\n", p.Name, p.IsEnabled(), strings.Join(p.Rules, ","), p.MinSeverity, fieldText(p.Tags), p.Action)
				}
			})
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a response policy", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			p, err := c.ResponsePolicy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(p, func(w *tabwriter.Writer) { policyTable(w, p) })
		},
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a response policy", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			return c.DeleteResponsePolicy(cmd.Context(), args[0])
		},
	}
	var device string
	actions := &cobra.Command{
		Use: "actions [--device D]", Short: "List the responses taken, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			as, err := c.ResponseActions(cmd.Context(), device, 100)
			if err != nil {
				return err
			}
			return g.print(as, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "AT\tDEVICE\tACTION\tACTOR\tREASON")
				for _, a := range as {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.At.Format(time.RFC3339), a.Device, a.Action, a.Actor, a.Reason)
				}
			})
		},
	}
	actions.Flags().StringVar(&device, "device", "", "only this device")
	cmd.AddCommand(put, list, get, del, actions)
	return cmd
}

func policyTable(w *tabwriter.Writer, p respond.Policy) {
	rules := strings.Join(p.Rules, ",")
	if rules == "" {
		rules = "(every rule)"
	}
	fmt.Fprintf(w, "name:\t%s\nenabled:\t%v\nrules:\t%s\nmin severity:\t%s\ntags:\t%s\naction:\t%s\n", p.Name, p.IsEnabled(), rules, p.MinSeverity, fieldText(p.Tags), p.Action)
}

func newNotificationsCmd(g *globals) *cobra.Command {
	var set string
	cmd := &cobra.Command{
		Use:   "notifications [--set FILE]",
		Short: "Show (secrets redacted) or replace the notification channels and rules",
		Long:  "Show the notification settings, or replace them with the JSON in FILE (- reads standard input). See docs/notifications.md.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			var out json.RawMessage
			if set != "" {
				data, err := readLayer(set)
				if err != nil {
					return err
				}
				out, err = c.PutNotifications(cmd.Context(), data)
				if err != nil {
					return err
				}
			} else if out, err = c.Notifications(cmd.Context()); err != nil {
				return err
			}
			var pretty any
			_ = json.Unmarshal(out, &pretty)
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(pretty)
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "replace the settings with the JSON in FILE (- = stdin)")
	return cmd
}

func newRulesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "rules", Short: "List the detection rules in effect and the problems of rule files", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			raw, err := c.Rules(cmd.Context())
			if err != nil {
				return err
			}
			var body struct {
				Rules []struct {
					ID, Kind, Severity, Technique, Title, Origin string
					Enabled                                      *bool
				}
				Problems []string
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				return err
			}
			for _, p := range body.Problems {
				fmt.Fprintln(cmd.ErrOrStderr(), "problem:", p)
			}
			return g.print(json.RawMessage(raw), func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tKIND\tSEVERITY\tTECHNIQUE\tTITLE")
				for _, r := range body.Rules {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Severity, r.Technique, r.Title)
				}
			})
		},
	}
}
