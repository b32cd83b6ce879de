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
			stop, err := startProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
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
			t, stop, err := g.benchTarget(cmd, noTLS, natsURL, nil)
			if err != nil {
				return err
			}
			defer stop()
			o.Server, o.Conn, o.TLS, o.DeleteHub = t.url, t.conn, t.tls, t.own
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
	cmd.AddCommand(ingest, newBenchTokensCmd(g), newBenchDetectCmd(g))
	return cmd
}

func newBenchDetectCmd(g *globals) *cobra.Command {
	var po bench.PipelineOptions
	var lo bench.LatencyOptions
	var noTLS bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Measure the security center: pipeline events/s, and latency to alert and to quarantine",
		Long: `Two measurements. Pipeline (own node only): --records agent events (--items payload items each,
their times spread over --spread) of --devices devices are appended to the security stream, then the center's pipeline (decode,
store with dedup, snapshot state, every built-in detection rule, alerts) drains them; events/s is
the pipeline's rate. Latency: a node whose center runs, a quarantine response policy on
ssh-brute-force, and --attacks devices each sending one security message with 5 failed logins
from one source; the time from the hub's 201 to the alert being listed by the API, and to the
device's next send being refused. Without --server it starts its own nodes in this process.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			stopProfile, err := startProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			fmt.Fprintf(out, "machine: %s\n", bench.Machine())
			own := !cmd.Flags().Changed("server") && os.Getenv("MOAT_SERVER") == ""
			if own && po.Records > 0 {
				t, stop, err := startLocalServer(ctx, noTLS, "", func(c *config.Server) { c.Center = false })
				if err != nil {
					return err
				}
				po.Log, po.Store, po.Hub = t.srv.EventLog(), t.srv.Store(), "benchdetect"
				r, err := bench.Pipeline(ctx, po)
				stop()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "pipeline: %d events (%d records, %d items each, over %s) in %s: %.0f events/s, %d detections\n",
					r.Events, r.Records, po.Items, po.Spread, r.Elapsed.Round(time.Millisecond), r.EventsPerSec(), r.Detections)
			}
			if lo.Attacks > 0 {
				if !own {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: while it runs, the response policy bench-latency quarantines any device of %s with an ssh-brute-force alert\n", g.server)
				}
				t, stop, err := g.benchTarget(cmd, noTLS, "", nil)
				if err != nil {
					return err
				}
				defer stop()
				lo.Server, lo.Conn, lo.TLS = t.url, t.conn, t.tls
				r, err := bench.DetectLatency(ctx, lo)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "latency over %d attacks, from the hub's 201 to:\n", r.Attacks)
				fmt.Fprintf(out, "  alert listed:     p50 %s  p90 %s  p99 %s  max %s\n", ms(r.Alert.P50), ms(r.Alert.P90), ms(r.Alert.P99), ms(r.Alert.Max))
				fmt.Fprintf(out, "  send refused:     p50 %s  p90 %s  p99 %s  max %s\n", ms(r.Quarantine.P50), ms(r.Quarantine.P90), ms(r.Quarantine.P99), ms(r.Quarantine.Max))
				if len(r.Errors) > 0 {
					fmt.Fprintf(out, "  errors: %v\n", r.Errors)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&po.Records, "records", 20000, "pipeline: security stream records (0 = skip the pipeline run)")
	f.IntVar(&po.Items, "items", 10, "pipeline: payload items per record")
	f.IntVar(&po.Devices, "devices", 1000, "pipeline: devices the events are spread over")
	f.DurationVar(&po.Spread, "spread", 10*time.Second, "pipeline: span of the first-seen times of one event's items (an agent's send interval)")
	f.IntVar(&lo.Attacks, "attacks", 50, "latency: attacked devices (0 = skip the latency run)")
	f.StringVar(&lo.Hub, "hub", "benchlatency", "latency: hub of the attacked devices (created if missing)")
	f.BoolVar(&noTLS, "no-tls", false, "own server: plain HTTP instead of HTTPS")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process to FILE")
	return cmd
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func newBenchTokensCmd(g *globals) *cobra.Command {
	var o bench.TokensOptions
	var noTLS bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Measure token issuance: fresh device proofs, full policy evaluation, many devices",
		Long: `Register --devices devices (bulk import) and request publisher tokens for them
round-robin, each request with a freshly signed device proof, for --duration. With
--rate it runs an open loop at that many requests/s and measures latency from each
request's scheduled time. Without --server (or MOAT_SERVER) it starts its own node in
this process with the per-device rate limit lifted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			stopProfile, err := startProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "machine: %s\n", bench.Machine())
			t, stop, err := g.benchTarget(cmd, noTLS, "", func(c *config.Server) {
				c.TokenRate, c.TokenBurst = 1_000_000_000, 1_000_000_000
			})
			if err != nil {
				return err
			}
			defer stop()
			o.Server, o.Conn, o.TLS, o.DeleteHub = t.url, t.conn, t.tls, t.own
			r, err := bench.Tokens(ctx, o)
			if err != nil {
				return err
			}
			r.Print(out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Hub, "hub", "benchtokens", "hub the devices publish to (created if missing)")
	f.IntVar(&o.Devices, "devices", 10000, "devices to register and use")
	f.IntVar(&o.Concurrency, "concurrency", 32, "concurrent clients (closed loop) or workers (open loop)")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "measured duration")
	f.DurationVar(&o.Warmup, "warmup", 2*time.Second, "warm-up before measuring")
	f.IntVar(&o.Rate, "rate", 0, "open loop: requests per second (0 = as fast as possible)")
	f.BoolVar(&noTLS, "no-tls", false, "own server: plain HTTP instead of HTTPS")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and own server) to FILE")
	return cmd
}

// startProfile starts a CPU profile into path ("" = none); stop ends it.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// localServer is where a benchmark sends: own is set for a node started in
// this process (its hub is deleted afterwards).
type localServer struct {
	url  string
	conn sas.ConnectionString
	tls  *tls.Config
	own  bool
	srv  *server.Server // own only
}

func startLocalServer(ctx context.Context, noTLS bool, natsURL string, tweak func(*config.Server)) (localServer, func(), error) {
	dir, err := os.MkdirTemp("", "moat-bench-")
	if err != nil {
		return localServer{}, nil, err
	}
	cfg := config.Defaults()
	cfg.Data, cfg.Listen, cfg.NoTLS, cfg.NATS = dir, "127.0.0.1:0", noTLS, natsURL
	cfg.NATSPrefix = "moatbench" // never touch a real deployment's streams on a shared NATS
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := server.Start(ctx, cfg, server.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return localServer{}, nil, err
	}
	stop := func() {
		_ = srv.Close(context.Background())
		os.RemoveAll(dir)
	}
	ls := localServer{url: srv.URL(), tls: &tls.Config{MinVersion: tls.VersionTLS12}, own: true, srv: srv}
	b, err := os.ReadFile(filepath.Join(dir, server.RootConnectionStringFile))
	if err == nil {
		ls.conn, err = sas.ParseConnectionString(strings.TrimSpace(string(b)))
	}
	if err == nil && !noTLS {
		ls.tls, err = tlsutil.ClientConfig(filepath.Join(dir, server.CertFile), false)
	}
	if err != nil {
		stop()
		return localServer{}, nil, err
	}
	return ls, stop, nil
}

// benchTarget is the server a benchmark runs against: the one named by
// --server (or MOAT_SERVER) with the global credentials, or else a node
// started in this process (own), with tweak applied to its configuration.
func (g *globals) benchTarget(cmd *cobra.Command, noTLS bool, natsURL string, tweak func(*config.Server)) (localServer, func(), error) {
	if !cmd.Flags().Changed("server") && os.Getenv("MOAT_SERVER") == "" {
		return startLocalServer(cmd.Context(), noTLS, natsURL, tweak)
	}
	cs, err := g.connectionString()
	if err != nil {
		return localServer{}, nil, err
	}
	tlsCfg, err := g.tlsConfig()
	if err != nil {
		return localServer{}, nil, err
	}
	return localServer{url: g.server, conn: cs, tls: tlsCfg}, func() {}, nil
}
