package cli

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moatsec/moat/tokenclient"
	"github.com/spf13/cobra"
)

func newDeviceTokenCmd(g *globals) *cobra.Command {
	var key, namespace, firmware string
	var lat, lon float64
	var send string
	var proofTTL time.Duration
	cmd := &cobra.Command{
		Use:   "token ID --key KEY [--lat LAT --lon LON] [--send BODY]",
		Short: "Ask the discovery service for a publisher token as a device (manual tests)",
		Long: `Act as device ID: sign a proof with its key (IoT Hub style), ask
POST /api/v1/discovery/token for a publisher token, and print it. --lat and --lon report
a location; --send BODY also sends one event with the token. A refusal prints its
reason (for example outside_geofence or needs_maintenance) and exits non-zero.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return fmt.Errorf("--key is required")
			}
			if namespace == "" {
				if cs, err := g.connectionString(); err == nil {
					namespace = cs.Namespace()
				} else {
					return fmt.Errorf("--namespace is required without a connection string")
				}
			}
			tlsCfg, err := g.tlsConfig()
			if err != nil {
				return err
			}
			if proofTTL == 0 {
				// A proof is accepted once, and two proofs of one device signed
				// in the same second with the same lifetime are identical: a
				// random lifetime keeps separate invocations apart.
				proofTTL = time.Minute + time.Duration(rand.IntN(120))*time.Second
			}
			cfg := tokenclient.Config{Server: g.server, Namespace: namespace, DeviceID: args[0], Key: key, TLS: tlsCfg,
				Firmware: firmware, ProofTTL: proofTTL}
			if cmd.Flags().Changed("lat") || cmd.Flags().Changed("lon") {
				loc := &tokenclient.Location{Lat: lat, Lon: lon}
				cfg.Location = func() *tokenclient.Location { return loc }
			}
			c, err := tokenclient.New(cfg)
			if err != nil {
				return err
			}
			tok, err := c.Token(cmd.Context())
			if err != nil {
				return err
			}
			if send != "" {
				if err := c.Send(cmd.Context(), []byte(send), "application/octet-stream"); err != nil {
					return err
				}
			}
			return g.print(tok, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "token:\t%s\nexpiresAt:\t%s\nhub:\t%s\npublisher:\t%s\nendpoint:\t%s\n",
					tok.Value, tok.ExpiresAt.Format(time.RFC3339), tok.Hub, tok.Publisher, tok.Endpoint)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "the device's key (base64)")
	f.StringVar(&namespace, "namespace", "", "namespace host the proof is scoped to (default: the connection string's)")
	f.Float64Var(&lat, "lat", 0, "reported latitude")
	f.Float64Var(&lon, "lon", 0, "reported longitude")
	f.StringVar(&firmware, "firmware", "", "reported firmware version")
	f.StringVar(&send, "send", "", "also send this event body with the token")
	f.DurationVar(&proofTTL, "proof-ttl", 0, "lifetime of the signed proof, at most 5m (default: random between 1m and 3m)")
	return cmd
}

func newDeviceAuditCmd(g *globals) *cobra.Command {
	var result, since string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [ID]",
		Short: "Show the discovery service's recorded token decisions (of one device, or all)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				id = strings.ToLower(args[0])
			}
			ds, err := c.AuditDecisions(cmd.Context(), id, result, since, limit)
			if err != nil {
				return err
			}
			return g.print(ds, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "TIME\tDEVICE\tRESULT\tSOURCE\tMESSAGE")
				for _, d := range ds {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", d.Time.Format(time.RFC3339), d.DeviceID, d.Result, d.Source, d.Message)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&result, "result", "", "only this result: issued or a refusal code")
	f.StringVar(&since, "since", "", "RFC 3339 time or a duration back from now (default 24h)")
	f.IntVar(&limit, "limit", 100, "at most this many decisions (1-1000)")
	return cmd
}
