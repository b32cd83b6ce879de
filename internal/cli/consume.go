package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

// ConsumedEvent is one line of `moat consume` output. Body is set when the
// event body is valid UTF-8, BodyBase64 otherwise.
type ConsumedEvent struct {
	Partition    int            `json:"partition"`
	Sequence     uint64         `json:"sequence"`
	EnqueuedTime time.Time      `json:"enqueuedTime"`
	Publisher    string         `json:"publisher,omitempty"`
	PartitionKey string         `json:"partitionKey,omitempty"`
	Properties   map[string]any `json:"properties,omitempty"`
	Body         *string        `json:"body,omitempty"`
	BodyBase64   []byte         `json:"bodyBase64,omitempty"`
}

type consumeOpts struct {
	hub       string
	partition int
	all       bool
	fromStart bool
	follow    bool
	group     string
	wait      time.Duration
	security  bool
	device    string
}

func newConsumeCmd(g *globals) *cobra.Command {
	var o consumeOpts
	cmd := &cobra.Command{
		Use:   "consume --hub H [--partition P | --security [--device D]] [--from-start] [--follow] [--group G]",
		Short: "Print a hub's events (or its security stream) as JSON lines",
		Long: `Print a hub's events, one JSON object per line, from every partition or one.
Without --from-start it starts after the newest event; with --group it resumes from
that consumer group's checkpoints and advances them as it prints. Without --follow it
stops when it has caught up.

With --security it prints the hub's security stream instead: one record per line,
{"sequence", "time", "hub", "source", "device", "data"}, where source is agent (a
security event sent by moat-agent, data holding the event and its message's agent
fields), discovery (a token decision) or hub (an authorization failure). See
docs/security-stream.md. Needs the Listen right on the hub.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.hub == "" {
				return fmt.Errorf("--hub is required")
			}
			o.all = !cmd.Flags().Changed("partition")
			c, _, err := g.client(time.Hour)
			if err != nil {
				return err
			}
			if o.security {
				if cmd.Flags().Changed("partition") || o.group != "" {
					return fmt.Errorf("--security reads the security stream: --partition and --group do not apply")
				}
				err = consumeSecurity(cmd.Context(), c, o, g)
			} else {
				err = consume(cmd.Context(), c, o, g)
			}
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.hub, "hub", "", "hub to read")
	f.IntVar(&o.partition, "partition", 0, "read only this partition (default: all)")
	f.BoolVar(&o.fromStart, "from-start", false, "start at the oldest retained event")
	f.BoolVar(&o.follow, "follow", false, "keep waiting for new events")
	f.StringVar(&o.group, "group", "", "consumer group: resume from and advance its checkpoints")
	f.DurationVar(&o.wait, "poll-wait", 20*time.Second, "long-poll wait per request with --follow")
	f.BoolVar(&o.security, "security", false, "print the hub's security stream instead of its events")
	f.StringVar(&o.device, "device", "", "with --security: only this device's records")
	return cmd
}

func consume(ctx context.Context, c *client.Client, o consumeOpts, g *globals) error {
	parts := []int{o.partition}
	if o.all {
		// Probe partitions with the Listen right rather than reading the hub
		// (which needs Manage).
		parts = parts[:0]
		for p := range hub.MaxPartitions {
			if _, err := c.PartitionInfo(ctx, o.hub, p); client.ReasonOf(err) == "partition_not_found" {
				break
			} else if err != nil {
				return err
			}
			parts = append(parts, p)
		}
	}
	var mu sync.Mutex
	enc := json.NewEncoder(g.stdout)
	eg, ctx := errgroup.WithContext(ctx)
	for _, p := range parts {
		eg.Go(func() error {
			from, err := startSequence(ctx, c, o, p)
			if err != nil {
				return err
			}
			for {
				wait := time.Duration(0)
				if o.follow {
					wait = o.wait
				}
				resp, err := c.Read(ctx, o.hub, p, from, 500, wait)
				if err != nil {
					return err
				}
				mu.Lock()
				for _, e := range resp.Events {
					if err := enc.Encode(consumed(p, e)); err != nil {
						mu.Unlock()
						return err
					}
				}
				mu.Unlock()
				if len(resp.Events) > 0 && o.group != "" {
					if _, err := c.PutCheckpoint(ctx, o.hub, o.group, p, resp.Next); err != nil {
						return err
					}
				}
				from = resp.Next
				if len(resp.Events) == 0 && !o.follow {
					return nil
				}
			}
		})
	}
	return eg.Wait()
}

func startSequence(ctx context.Context, c *client.Client, o consumeOpts, p int) (uint64, error) {
	if o.group != "" {
		cp, err := c.GetCheckpoint(ctx, o.hub, o.group, p)
		if err == nil {
			return cp.Sequence, nil
		}
		if client.ReasonOf(err) != "checkpoint_not_found" {
			return 0, err
		}
	}
	info, err := c.PartitionInfo(ctx, o.hub, p)
	if err != nil {
		return 0, err
	}
	if o.fromStart {
		return max(info.FirstSequence, 1), nil
	}
	return info.LastSequence + 1, nil
}

func consumed(p int, e httpapi.EventView) ConsumedEvent {
	out := ConsumedEvent{Partition: p, Sequence: e.Sequence, EnqueuedTime: e.EnqueuedTime, Publisher: e.Publisher,
		PartitionKey: e.PartitionKey, Properties: e.Properties}
	if utf8.Valid(e.Body) {
		s := string(e.Body)
		out.Body = &s
	} else {
		out.BodyBase64 = e.Body
	}
	return out
}

func consumeSecurity(ctx context.Context, c *client.Client, o consumeOpts, g *globals) error {
	var from uint64 // 0 = from the end
	if o.fromStart {
		from = 1
	}
	enc := json.NewEncoder(g.stdout)
	for {
		wait := time.Duration(0)
		if o.follow {
			wait = o.wait
		}
		resp, err := c.ReadSecurity(ctx, o.hub, o.device, from, 500, wait)
		if err != nil {
			return err
		}
		for _, r := range resp.Records {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		from = resp.Next
		if len(resp.Records) == 0 && !o.follow {
			return nil
		}
	}
}
