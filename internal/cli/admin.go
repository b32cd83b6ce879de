package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/hub"
	"github.com/spf13/cobra"
)

const adminTTL = 10 * time.Minute

func newHubCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "hub", Short: "Create, list, show and delete event hubs"}
	var spec hub.HubSpec
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a hub (or update its partitions and retention)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			h, err := c.PutHub(cmd.Context(), args[0], spec)
			if err != nil {
				return err
			}
			return g.print(h, func(w *tabwriter.Writer) { hubTable(w, h) })
		},
	}
	create.Flags().IntVar(&spec.Partitions, "partitions", hub.DefaultPartitions, "number of partitions (1-32; can grow, never shrink)")
	create.Flags().IntVar(&spec.RetentionHours, "retention-hours", hub.DefaultRetentionHours, "how long events are kept")
	list := &cobra.Command{
		Use: "list", Short: "List hubs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			hs, err := c.ListHubs(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(hs, func(w *tabwriter.Writer) { hubTable(w, hs...) })
		},
	}
	show := &cobra.Command{
		Use: "show NAME", Short: "Show one hub", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			h, err := c.GetHub(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(h, func(w *tabwriter.Writer) { hubTable(w, h) })
		},
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a hub with its events, rules, checkpoints and revocations", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			return c.DeleteHub(cmd.Context(), args[0])
		},
	}
	cmd.AddCommand(create, list, show, del)
	return cmd
}

func hubTable(w *tabwriter.Writer, hs ...client.Hub) {
	fmt.Fprintln(w, "NAME\tPARTITIONS\tRETENTION\tCREATED")
	for _, h := range hs {
		fmt.Fprintf(w, "%s\t%d\t%dh\t%s\n", h.Name, h.Partitions, h.RetentionHours, h.CreatedAt.Format(time.RFC3339))
	}
}

func newRuleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "rule", Short: "Manage shared access authorization rules (namespace or --hub level)"}
	var hubName string
	cmd.PersistentFlags().StringVar(&hubName, "hub", "", "hub of the rule (default: a namespace rule)")
	var rights []string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a rule with fresh keys (or change its rights)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			r, err := c.PutRule(cmd.Context(), hubName, args[0], rights)
			if err != nil {
				return err
			}
			return g.print(r, func(w *tabwriter.Writer) { ruleKeysTable(w, r) })
		},
	}
	create.Flags().StringSliceVar(&rights, "rights", []string{"Send"}, "rights: Manage, Send, Listen (Manage implies the others)")
	list := &cobra.Command{
		Use: "list", Short: "List rules (without keys)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			rs, err := c.ListRules(cmd.Context(), hubName)
			if err != nil {
				return err
			}
			return g.print(rs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tRIGHTS\tUPDATED")
				for _, r := range rs {
					fmt.Fprintf(w, "%s\t%s\t%s\n", r.Name, strings.Join(r.Rights, ","), r.UpdatedAt.Format(time.RFC3339))
				}
			})
		},
	}
	keys := &cobra.Command{
		Use: "keys NAME", Short: "Show a rule's keys and connection strings", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			r, err := c.ListKeys(cmd.Context(), hubName, args[0])
			if err != nil {
				return err
			}
			return g.print(r, func(w *tabwriter.Writer) { ruleKeysTable(w, r) })
		},
	}
	var which string
	regen := &cobra.Command{
		Use: "regenerate NAME", Short: "Replace a rule's primary or secondary key; tokens signed with the old key fail at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kt, err := keyType(which)
			if err != nil {
				return err
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			r, err := c.RegenerateKey(cmd.Context(), hubName, args[0], kt)
			if err != nil {
				return err
			}
			return g.print(r, func(w *tabwriter.Writer) { ruleKeysTable(w, r) })
		},
	}
	regen.Flags().StringVar(&which, "key", "primary", "which key: primary or secondary")
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a rule", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			return c.DeleteRule(cmd.Context(), hubName, args[0])
		},
	}
	cmd.AddCommand(create, list, keys, regen, del)
	return cmd
}

func ruleKeysTable(w *tabwriter.Writer, r client.Rule) {
	scope := "namespace"
	if r.Hub != "" {
		scope = "hub " + r.Hub
	}
	fmt.Fprintf(w, "name:\t%s\nscope:\t%s\nrights:\t%s\n", r.Name, scope, strings.Join(r.Rights, ","))
	if r.PrimaryKey != "" {
		fmt.Fprintf(w, "primaryKey:\t%s\nsecondaryKey:\t%s\nprimaryConnectionString:\t%s\nsecondaryConnectionString:\t%s\n",
			r.PrimaryKey, r.SecondaryKey, r.PrimaryConnectionString, r.SecondaryConnectionString)
	}
}

func newPublisherCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "publisher", Short: "Revoke, restore and list a hub's revoked publishers"}
	revoke := &cobra.Command{
		Use: "revoke HUB PUBLISHER", Short: "Refuse every send by a publisher, whatever token it holds", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			return c.Revoke(cmd.Context(), args[0], args[1])
		},
	}
	restore := &cobra.Command{
		Use: "restore HUB PUBLISHER", Short: "Lift a publisher's revocation", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			return c.Restore(cmd.Context(), args[0], args[1])
		},
	}
	list := &cobra.Command{
		Use: "revoked HUB", Short: "List a hub's revoked publishers", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			rs, err := c.ListRevoked(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(rs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "PUBLISHER\tREVOKED AT")
				for _, r := range rs {
					fmt.Fprintf(w, "%s\t%s\n", r.Name, r.RevokedAt.Format(time.RFC3339))
				}
			})
		},
	}
	cmd.AddCommand(revoke, restore, list)
	return cmd
}
