package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/bench"
	"github.com/moatsec/moat/internal/config"
	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/server"
	"github.com/moatsec/moat/internal/tlsutil"
	"github.com/moatsec/moat/sas"
	"github.com/spf13/cobra"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure ingest throughput and latency, and the raw log ceiling"}
	var o bench.IngestOptions
	var single, ceiling, noTLS bool
	var natsURL, cpuProfile string
	ingest := &cobra.Command{
		Use:   "ingest",
		Short: "Send events as fast as possible over keep-alive connections and report events/s and latency",
		Long: `Send events to a hub over real HTTP(S) connections for --duration and report durable
events/s, requests/s and latency percentiles (every counted request got a 201).
Without --server (or MOAT_SERVER) it starts its own node (embedded JetStream and SQLite in a temporary
directory, TLS with a self-signed certificate) in this process. --ceiling also measures
raw durable appends into the event log on the same machine, with no HTTP.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if single {
				o.Batch = 1
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "machine: %s\n", bench.Machine())
			if ceiling {
				dir, err := os.MkdirTemp("", "moat-bench-log-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				r, err := bench.Ceiling(ctx, bench.CeilingOptions{Log: eventlog.Config{DataDir: dir, URL: natsURL, Prefix: "moatbench"},
					Batch: o.Batch, Size: o.Size, Concurrency: o.Concurrency, Duration: o.Duration, Partitions: o.Partitions})
				if err != nil {
					return err
				}
				r.Print(out)
			}
			if !cmd.Flags().Changed("server") && os.Getenv("MOAT_SERVER") == "" {
				stop, err := startLocal(ctx, &o, noTLS, natsURL)
				if err != nil {
					return err
				}
				defer stop()
			} else {
				cs, err := g.connectionString()
				if err != nil {
					return err
				}
				o.Conn, o.Server = cs, g.server
				if o.TLS, err = g.tlsConfig(); err != nil {
					return err
				}
			}
			r, err := bench.Ingest(ctx, o)
			if err != nil {
				return err
			}
			r.Print(out)
			return nil
		},
	}
	f := ingest.Flags()
	f.StringVar(&o.Hub, "hub", "bench", "hub to send to (created if missing)")
	f.IntVar(&o.Partitions, "partitions", 4, "partitions of the hub")
	f.IntVar(&o.Batch, "batch", 100, "events per request")
	f.BoolVar(&single, "single", false, "one event per request (same as --batch 1)")
	f.IntVar(&o.Size, "size", 200, "bytes per event body")
	f.IntVar(&o.Concurrency, "concurrency", 32, "concurrent clients")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "measured duration")
	f.DurationVar(&o.Warmup, "warmup", 2*time.Second, "warm-up before measuring")
	f.IntVar(&o.Publishers, "publishers", 0, "send as N publishers with publisher-scoped tokens (0 = to the hub)")
	f.BoolVar(&o.HTTP2, "http2", false, "use HTTP/2 (default: one HTTP/1.1 keep-alive connection per client)")
	f.BoolVar(&ceiling, "ceiling", false, "also measure raw event-log appends (no HTTP) as the ceiling")
	f.BoolVar(&noTLS, "no-tls", false, "own server: plain HTTP instead of HTTPS")
	f.StringVar(&natsURL, "nats", "", "own server and ceiling: external NATS URL instead of embedded JetStream")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and own server) to FILE")
	cmd.AddCommand(ingest)
	return cmd
}

// startLocal starts a node in this process for the benchmark.
func startLocal(ctx context.Context, o *bench.IngestOptions, noTLS bool, natsURL string) (func(), error) {
	dir, err := os.MkdirTemp("", "moat-bench-")
	if err != nil {
		return nil, err
	}
	cfg := config.Defaults()
	cfg.Data, cfg.Listen, cfg.NoTLS, cfg.NATS = dir, "127.0.0.1:0", noTLS, natsURL
	cfg.NATSPrefix = "moatbench" // never touch a real deployment's streams on a shared NATS
	o.DeleteHub = true           // the benchmark's events go with its server
	srv, err := server.Start(ctx, cfg, server.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stop := func() {
		_ = srv.Close(context.Background())
		os.RemoveAll(dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, server.RootConnectionStringFile))
	if err == nil {
		o.Conn, err = sas.ParseConnectionString(strings.TrimSpace(string(b)))
	}
	if err == nil && !noTLS {
		o.TLS, err = tlsutil.ClientConfig(filepath.Join(dir, server.CertFile), false)
	}
	if err != nil {
		stop()
		return nil, err
	}
	if o.TLS == nil {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	o.Server = srv.URL()
	return stop, nil
}
