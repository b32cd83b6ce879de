package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moatsec/moat/internal/client"
	"github.com/spf13/cobra"
)

func newSendCmd(g *globals) *cobra.Command {
	var t client.Target
	var partition int
	var props []string
	var key, batchFile string
	cmd := &cobra.Command{
		Use:   "send --hub H [--publisher P | --partition N] [-p name=value]... [BODY | - | --batch FILE]",
		Short: "Send one event (BODY, or stdin with -) or a batch (a JSON array of {Body, UserProperties, BrokerProperties})",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if t.Hub == "" {
				return fmt.Errorf("--hub is required")
			}
			if cmd.Flags().Changed("partition") {
				t.Partition = &partition
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			if batchFile != "" {
				var items []struct {
					Body             json.RawMessage
					UserProperties   map[string]any
					BrokerProperties struct{ PartitionKey string }
				}
				data, err := os.ReadFile(batchFile)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(data, &items); err != nil {
					return fmt.Errorf("%s: %w", batchFile, err)
				}
				evs := make([]client.Event, len(items))
				for i, it := range items {
					var s string
					body := []byte(it.Body)
					if json.Unmarshal(it.Body, &s) == nil {
						body = []byte(s)
					}
					evs[i] = client.Event{Body: body, Properties: it.UserProperties, PartitionKey: it.BrokerProperties.PartitionKey}
				}
				if len(evs) == 1 {
					// A one-element batch still goes as a batch.
					return c.SendRaw(cmd.Context(), t, client.EncodeBatch(evs), map[string][]string{"Content-Type": {"application/vnd.microsoft.servicebus.json"}})
				}
				return c.Send(cmd.Context(), t, evs...)
			}
			if len(args) != 1 {
				return fmt.Errorf("give the event body as an argument, - for stdin, or --batch FILE")
			}
			body := []byte(args[0])
			if args[0] == "-" {
				if body, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20)); err != nil {
					return err
				}
			}
			ev := client.Event{Body: body, PartitionKey: key}
			for _, p := range props {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fmt.Errorf("property %q: want name=value", p)
				}
				if ev.Properties == nil {
					ev.Properties = map[string]any{}
				}
				ev.Properties[k] = v
			}
			return c.Send(cmd.Context(), t, ev)
		},
	}
	f := cmd.Flags()
	f.StringVar(&t.Hub, "hub", "", "hub to send to")
	f.StringVar(&t.Publisher, "publisher", "", "send as this publisher")
	f.IntVar(&partition, "partition", 0, "send to this partition")
	f.StringArrayVarP(&props, "property", "p", nil, "user property name=value (repeatable; sent as a header)")
	f.StringVar(&key, "partition-key", "", "partition key (BrokerProperties)")
	f.StringVar(&batchFile, "batch", "", "send a batch from a JSON file")
	cmd.MarkFlagsMutuallyExclusive("publisher", "partition")
	return cmd
}
