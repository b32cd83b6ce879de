package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/hub/httpapi"
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
				// The file goes as it is; the server validates it (docs/rest.md).
				if len(args) > 0 || len(props) > 0 || key != "" {
					return fmt.Errorf("--batch takes no BODY, --property or --partition-key: put them in the file")
				}
				data, err := os.ReadFile(batchFile)
				if err != nil {
					return err
				}
				return c.SendRaw(cmd.Context(), t, data, http.Header{"Content-Type": {httpapi.BatchContentType}})
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
