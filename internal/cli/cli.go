// Package cli implements the moat command line: `moat serve` and the admin
// commands that talk to a server (hub, rule, publisher, device, sas, send,
// consume, bench). cmd/moat is a thin wrapper around Main.
package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/server"
	"github.com/moatsec/moat/internal/tlsutil"
	"github.com/moatsec/moat/sas"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/moatsec/moat/internal/cli.Version=…".
var Version = "dev"

// Main runs the CLI and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "moat:", err)
		return 1
	}
	return 0
}

// globals are the flags every client command shares.
type globals struct {
	server, connString, data, caFile, output string
	insecure                                 bool
	stdout, stderr                           io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "moat",
		Short:         "Moat: a security gate for IoT fleets (Event Hubs–compatible hub)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if g.output != "table" && g.output != "json" {
			return fmt.Errorf("--output %q: want table or json", g.output)
		}
		return nil
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", envOr("MOAT_SERVER", "https://localhost:8443"), "server URL (MOAT_SERVER)")
	pf.StringVar(&g.connString, "connection-string", "", "connection string with a key or a SharedAccessSignature (MOAT_CONNECTION_STRING)")
	pf.StringVar(&g.data, "data", envOr("MOAT_DATA", ""), "data directory of a local server: read its root connection string and trust its TLS certificate (MOAT_DATA)")
	pf.StringVar(&g.caFile, "ca", envOr("MOAT_CA", ""), "PEM CA file to trust for the server's certificate (MOAT_CA)")
	pf.BoolVar(&g.insecure, "insecure-skip-verify", false, "do not verify the server's TLS certificate (testing only)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newServe(), newHubCmd(g), newRuleCmd(g), newPublisherCmd(g), newDeviceCmd(g), newSASCmd(g),
		newSendCmd(g), newConsumeCmd(g), newBenchCmd(g), newAgentConfigCmd(g), newSimCmd(g),
		newEventsCmd(g), newAlertsCmd(g), newRecommendationsCmd(g), newOverviewCmd(g), newResponseCmd(g), newNotificationsCmd(g), newRulesCmd(g))
	return root
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// connectionString finds the connection string: the flag, then
// MOAT_CONNECTION_STRING, then DATA/root-connection-string.
func (g *globals) connectionString() (sas.ConnectionString, error) {
	s := g.connString
	if s == "" {
		s = os.Getenv("MOAT_CONNECTION_STRING")
	}
	if s == "" && g.data != "" {
		b, err := os.ReadFile(filepath.Join(g.data, server.RootConnectionStringFile))
		if err != nil {
			return sas.ConnectionString{}, fmt.Errorf("read connection string from --data: %w", err)
		}
		s = strings.TrimSpace(string(b))
	}
	if s == "" {
		return sas.ConnectionString{}, errors.New("no connection string: use --connection-string, MOAT_CONNECTION_STRING or --data DIR")
	}
	return sas.ParseConnectionString(s)
}

// client builds an API client from the global flags.
func (g *globals) client(ttl time.Duration) (*client.Client, *client.Tokens, error) {
	cs, err := g.connectionString()
	if err != nil {
		return nil, nil, err
	}
	tlsCfg, err := g.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	tokens := client.NewTokens(cs, ttl)
	c, err := client.New(client.Options{Server: g.server, TLS: tlsCfg, Tokens: tokens})
	return c, tokens, err
}

// tlsConfig trusts --ca, else the certificate of the --data directory, else
// the system roots.
func (g *globals) tlsConfig() (*tls.Config, error) {
	ca := g.caFile
	if ca == "" && g.data != "" {
		if _, err := os.Stat(filepath.Join(g.data, server.CertFile)); err == nil {
			ca = filepath.Join(g.data, server.CertFile)
		}
	}
	return tlsutil.ClientConfig(ca, g.insecure)
}

// print writes v as JSON, or calls table for the table format.
func (g *globals) print(v any, table func(w *tabwriter.Writer)) error {
	switch g.output {
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "table":
		tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
	return fmt.Errorf("unknown output format %q: want table or json", g.output)
}
