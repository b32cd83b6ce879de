package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/internal/center/detect"
	"github.com/moatsec/moat/internal/center/rules"
	"github.com/moatsec/moat/internal/eventlog"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/sas"
	"github.com/moatsec/moat/secmsg"
)

// PipelineOptions configure a detection-pipeline throughput run.
type PipelineOptions struct {
	Log     *eventlog.Log
	Store   store.Store
	Hub     string
	Devices int // devices the events are spread over
	Records int // security stream records (one agent event each)
	Items   int // payload items per event (events through the pipeline = Records × Items)
	// Spread is the span of the first-seen times of one event's items
	// (an agent's send interval: 10 s for logins by default). The items
	// of one event lie evenly over it, newest first.
	Spread time.Duration
}

// PipelineResult is the center's throughput on stored records.
type PipelineResult struct {
	Events     int64
	Records    int
	Elapsed    time.Duration
	Detections int64
}

// EventsPerSec is the pipeline's rate.
func (r PipelineResult) EventsPerSec() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// countingStream hands the pipeline the records of the stream and ends
// the run when they all went through.
type countingStream struct {
	l       *eventlog.Log
	want    int
	seen    atomic.Int64
	done    chan struct{}
	started atomic.Int64 // unix nanos of the first batch
}

func (c *countingStream) Consume(ctx context.Context, durable string, maxBatch int, handle func(context.Context, []center.Record) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return c.l.ConsumeSecurity(ctx, durable, maxBatch, 0, func(ctx context.Context, batch []eventlog.SecurityEntry) error {
		c.started.CompareAndSwap(0, time.Now().UnixNano())
		recs := make([]center.Record, len(batch))
		for i, e := range batch {
			recs[i] = center.Record{Sequence: e.Sequence, Time: e.Time, Hub: e.Hub, Source: e.Source, Device: e.Device, Data: e.Data}
		}
		if err := handle(ctx, recs); err != nil {
			return err
		}
		if int(c.seen.Add(int64(len(batch)))) >= c.want {
			close(c.done)
			cancel()
		}
		return nil
	})
}

// countingAlerts counts detections on their way to the store.
type countingAlerts struct {
	next center.AlertSink
	n    atomic.Int64
}

func (c *countingAlerts) Raise(ctx context.Context, d center.Detection) (center.Alert, bool, error) {
	c.n.Add(1)
	return c.next.Raise(ctx, d)
}

// Pipeline appends records of agent events to the security stream, then
// runs the center's pipeline (decode, store with dedup, snapshot state,
// detection with every built-in rule, alerts) over them and measures how
// fast it drains them. The mix: failed logins from many sources against
// many devices (a tenth of the sources cross the brute-force threshold),
// successful logins, and ListeningPorts differences.
func Pipeline(ctx context.Context, o PipelineOptions) (PipelineResult, error) {
	if o.Devices < 1 || o.Records < 1 || o.Items < 1 {
		return PipelineResult{}, errors.New("bench: devices, records and items must be positive")
	}
	if err := o.Log.EnsureSecurity(ctx, 0); err != nil {
		return PipelineResult{}, err
	}
	start := time.Now().UTC().Add(-time.Hour)
	agentID := secmsg.NewID()
	var batch []eventlog.SecurityRecord
	var events int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := o.Log.AppendSecurity(ctx, batch)
		batch = batch[:0]
		return err
	}
	for r := range o.Records {
		dev := fmt.Sprintf("bench-%05d", r%o.Devices)
		at := start.Add(time.Duration(r) * time.Millisecond)
		var ev secmsg.Event
		switch r % 20 {
		case 19: // a port appears
			items := []secmsg.Item{secmsg.ListeningPort{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: 10000 + r%5000, Change: secmsg.ChangeAdded}}
			ev = secmsg.NewEvent(secmsg.NameListeningPorts, at, items...)
			ev.SnapshotMode = secmsg.SnapshotDiff
			events++
		default:
			items := make([]secmsg.Item, o.Items)
			for i := range items {
				src := fmt.Sprintf("198.51.%d.%d", (r*o.Items+i)/250%250, (r*o.Items+i)%250+1)
				result := secmsg.ResultFail
				if i == 0 && r%10 == 0 {
					result = secmsg.ResultSuccess
				}
				hits := 1 + int64(r%2)
				first := at.Add(-time.Duration(i) * o.Spread / time.Duration(o.Items))
				last := first.Add(time.Duration(hits-1) * time.Second)
				items[i] = secmsg.Login{Operation: secmsg.OperationLogin, UserName: "root", RemoteAddress: src, Result: result,
					AuthMethod: secmsg.AuthPassword, Source: secmsg.SourceAuthLog,
					Aggregate: secmsg.Aggregate{HitCount: hits, FirstSeen: secmsg.FormatTime(first), LastSeen: secmsg.FormatTime(last)}}
			}
			ev = secmsg.NewEvent(secmsg.NameLogin, at, items...)
			events += int64(len(items))
		}
		one, err := secmsg.NewMessage("bench", agentID, ev).Marshal()
		if err != nil {
			return PipelineResult{}, err
		}
		data, _ := json.Marshal(hub.AgentRecord{Device: dev, Hub: o.Hub, ReceivedAt: time.Now().UTC(), Message: one})
		batch = append(batch, eventlog.SecurityRecord{Hub: o.Hub, Source: hub.SourceAgent, Device: dev, ID: ev.ID, Data: data})
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return PipelineResult{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return PipelineResult{}, err
	}
	builtin, err := rules.Builtin()
	if err != nil {
		return PipelineResult{}, err
	}
	set, err := rules.NewSet(builtin, nil)
	if err != nil {
		return PipelineResult{}, err
	}
	eng := detect.New(set, detect.Options{Baseline: center.NewStoreBaseline(o.Store, 0)}) // as the server does
	cs := &countingStream{l: o.Log, want: o.Records, done: make(chan struct{})}
	alerts := &countingAlerts{next: center.StoreAlerts{Store: o.Store}}
	svc, err := center.New(center.Options{Store: o.Store, Stream: cs, Detector: eng, Alerts: alerts, Durable: "bench-pipeline",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return PipelineResult{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(runCtx) }()
	select {
	case <-cs.done:
	case err := <-errc:
		return PipelineResult{}, fmt.Errorf("bench: pipeline stopped: %w", err)
	case <-ctx.Done():
		return PipelineResult{}, ctx.Err()
	}
	elapsed := time.Since(time.Unix(0, cs.started.Load()))
	cancel()
	<-errc
	return PipelineResult{Events: events, Records: o.Records, Elapsed: elapsed, Detections: alerts.n.Load()}, nil
}

// LatencyOptions configure a detection-latency run against a server whose
// center runs.
type LatencyOptions struct {
	Server  string
	TLS     *tls.Config
	Conn    sas.ConnectionString // Manage on the namespace
	Hub     string
	Attacks int // attacked devices, one measurement each
}

// LatencyResult holds the latencies from the hub accepting the message
// that completes a brute force to the alert being visible in the API, and
// to the device's next send being refused.
type LatencyResult struct {
	Alert, Quarantine Latencies
	Attacks           int
	Errors            map[string]int64
}

// DetectLatency registers devices, sets a quarantine response policy on
// ssh-brute-force, and for each device sends, as the device's publisher,
// one security message with 5 failed logins from one source; then it polls
// (every 2 ms) until the alert is listed and until a send is refused.
func DetectLatency(ctx context.Context, o LatencyOptions) (LatencyResult, error) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: o.TLS, MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}
	ns := o.Conn.Namespace()
	token := func(path string) string {
		return sas.Sign("sb://"+ns+path, o.Conn.SharedAccessKeyName, o.Conn.SharedAccessKey, time.Now().Add(time.Hour))
	}
	do := func(method, path string, body []byte, hdr map[string]string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(o.Server, "/")+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", token("/"))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, data, nil
	}
	res := LatencyResult{Errors: map[string]int64{}}
	if code, body, err := do("PUT", "/api/v1/hubs/"+o.Hub, []byte(`{}`), map[string]string{"Content-Type": "application/json"}); err != nil || code >= 300 {
		return res, fmt.Errorf("bench: hub: %d %s %v", code, body, err)
	}
	var jsonl bytes.Buffer
	for i := range o.Attacks {
		fmt.Fprintf(&jsonl, `{"id":"lat-%04d","hub":%q}`+"\n", i, o.Hub)
	}
	if code, body, err := do("POST", "/api/v1/devices:import?format=jsonl", jsonl.Bytes(), map[string]string{"Content-Type": "application/x-ndjson"}); err != nil || code >= 300 {
		return res, fmt.Errorf("bench: import: %d %s %v", code, body, err)
	}
	policy := `{"rules":["ssh-brute-force"],"minSeverity":"High","action":"quarantine"}`
	if code, body, err := do("PUT", "/api/v1/response-policies/bench-latency", []byte(policy), map[string]string{"Content-Type": "application/json"}); err != nil || code >= 300 {
		return res, fmt.Errorf("bench: policy: %d %s %v", code, body, err)
	}
	defer func() { // best effort: leave no policy and no quarantined bench devices behind
		_, _, _ = do("DELETE", "/api/v1/response-policies/bench-latency", nil, nil)
		for i := range o.Attacks {
			_, _, _ = do("DELETE", fmt.Sprintf("/api/v1/devices/lat-%04d", i), nil, nil)
		}
	}()
	var alertLat, quarLat []time.Duration
	marked := map[string]string{hub.SecurityProperty: hub.SecurityMarker, "Content-Type": "application/json"}
	for i := range o.Attacks {
		dev := fmt.Sprintf("lat-%04d", i)
		now := time.Now().UTC()
		items := make([]secmsg.Item, 5)
		for j := range items {
			ts := now.Add(time.Duration(j) * time.Second).Format(time.RFC3339)
			items[j] = secmsg.Login{Operation: secmsg.OperationLogin, UserName: "root", RemoteAddress: fmt.Sprintf("203.0.113.%d", 1+i%250),
				RemotePort: 40000 + j, Result: secmsg.ResultFail, AuthMethod: secmsg.AuthPassword, Source: secmsg.SourceAuthLog,
				Aggregate: secmsg.Aggregate{FirstSeen: ts, LastSeen: ts}}
		}
		msg, err := secmsg.NewMessage("bench", secmsg.NewID(), secmsg.NewEvent(secmsg.NameLogin, now, items...)).Marshal()
		if err != nil {
			return res, err
		}
		code, body, err := do("POST", "/"+o.Hub+"/publishers/"+dev+"/messages", msg, marked)
		if err != nil || code != http.StatusCreated {
			res.Errors[fmt.Sprintf("send_%d", code)]++
			_ = body
			continue
		}
		accepted := time.Now()
		deadline := accepted.Add(10 * time.Second)
		var gotAlert, gotQuar bool
		for (!gotAlert || !gotQuar) && time.Now().Before(deadline) {
			if !gotAlert {
				c, b, err := do("GET", "/api/v1/alerts?rule=ssh-brute-force&device="+dev, nil, nil)
				if err == nil && c == 200 && bytes.Contains(b, []byte(`"deviceId":"`+dev+`"`)) {
					alertLat, gotAlert = append(alertLat, time.Since(accepted)), true
				}
			}
			if !gotQuar {
				c, _, err := do("POST", "/"+o.Hub+"/publishers/"+dev+"/messages", []byte(`{"t":1}`), nil)
				if err == nil && c == http.StatusUnauthorized {
					quarLat, gotQuar = append(quarLat, time.Since(accepted)), true
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		if !gotAlert {
			res.Errors["no_alert_within_10s"]++
		}
		if !gotQuar {
			res.Errors["not_refused_within_10s"]++
		}
	}
	res.Attacks = len(alertLat)
	res.Alert, res.Quarantine = summarize(slices.Clone(alertLat)), summarize(slices.Clone(quarLat))
	return res, nil
}
