package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/hub/httpapi"
	"github.com/moatsec/moat/sas"
)

// IngestOptions configures an ingest run.
type IngestOptions struct {
	Server      string      // base URL
	TLS         *tls.Config // client TLS
	Conn        sas.ConnectionString
	Hub         string
	Partitions  int
	Batch       int           // events per request; 1 = single-event POSTs
	Size        int           // bytes per event body
	Concurrency int           // concurrent clients, each with its own keep-alive connection
	Duration    time.Duration // measured time (after a short warm-up)
	Warmup      time.Duration
	Publishers  int  // > 0: each request goes to /hub/publishers/dev-N with a publisher token
	HTTP2       bool // use HTTP/2 instead of one HTTP/1.1 connection per client
	DeleteHub   bool // delete the hub afterwards (its events too)
}

// Ingest runs an ingest benchmark against a server.
func Ingest(ctx context.Context, o IngestOptions) (Result, error) {
	if o.Batch < 1 || o.Size < 1 || o.Concurrency < 1 || o.Duration <= 0 {
		return Result{}, errors.New("bench: batch, size, concurrency and duration must be positive")
	}
	tokens := client.NewTokens(o.Conn, 2*time.Hour)
	var tlsCfg *tls.Config
	if o.TLS != nil {
		tlsCfg = o.TLS.Clone() // never share a tls.Config between transports: HTTP/2 setup mutates it
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: o.Concurrency,
		ForceAttemptHTTP2: o.HTTP2, DisableCompression: true}
	if !o.HTTP2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	admin, err := client.New(client.Options{Server: o.Server, TLS: o.TLS, Tokens: tokens})
	if err != nil {
		return Result{}, err
	}
	if _, err := admin.PutHub(ctx, o.Hub, hub.HubSpec{Partitions: o.Partitions}); err != nil {
		return Result{}, fmt.Errorf("bench: create hub: %w", err)
	}
	if o.DeleteHub {
		defer admin.DeleteHub(context.Background(), o.Hub)
	}
	body, contentType := payload(o.Batch, o.Size)

	var measuring atomic.Bool
	var requests, events atomic.Int64
	var errMu sync.Mutex
	errs := map[string]int64{}
	lat := make([][]time.Duration, o.Concurrency)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, resource := "/"+o.Hub+"/messages", "/"+o.Hub
			if o.Publishers > 0 {
				p := fmt.Sprintf("dev-%d", w%o.Publishers)
				path, resource = "/"+o.Hub+"/publishers/"+p+"/messages", "/"+o.Hub+"/publishers/"+p
			}
			tok := tokens.For(resource)
			url := o.Server + path
			local := make([]time.Duration, 0, 1<<16)
			for runCtx.Err() == nil {
				req, _ := http.NewRequestWithContext(runCtx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", tok)
				req.Header.Set("Content-Type", contentType)
				start := time.Now()
				resp, err := hc.Do(req)
				took := time.Since(start)
				reason := ""
				if err != nil {
					if runCtx.Err() != nil {
						break
					}
					reason = "transport"
				} else {
					if resp.StatusCode != http.StatusCreated {
						var b apierr.Body
						data, _ := io.ReadAll(resp.Body)
						_ = json.Unmarshal(data, &b)
						reason = fmt.Sprintf("%d_%s", resp.StatusCode, b.Error.Reason)
					} else {
						_, _ = io.Copy(io.Discard, resp.Body)
					}
					resp.Body.Close()
				}
				if !measuring.Load() {
					continue
				}
				if reason != "" {
					errMu.Lock()
					errs[reason]++
					errMu.Unlock()
					continue
				}
				requests.Add(1)
				events.Add(int64(o.Batch))
				local = append(local, took)
			}
			lat[w] = local
		}()
	}
	elapsed := window(ctx, o.Warmup, o.Duration, &measuring)
	cancel()
	wg.Wait()
	all := slices.Concat(lat...)
	name := fmt.Sprintf("ingest batch=%d size=%dB", o.Batch, o.Size)
	if o.Batch == 1 {
		name = fmt.Sprintf("ingest single-event size=%dB", o.Size)
	}
	return Result{Name: name, Duration: elapsed, Requests: requests.Load(), Events: events.Load(),
		Bytes: events.Load() * int64(o.Size), Errors: errs, Latency: summarize(all), Concurrency: o.Concurrency}, ctx.Err()
}

// payload builds one request body: a raw event, or an Event Hubs batch.
func payload(batch, size int) ([]byte, string) {
	ev := strings.Repeat("x", size)
	if batch == 1 {
		return []byte(ev), "application/octet-stream"
	}
	evs := make([]client.Event, batch)
	for i := range evs {
		evs[i] = client.Event{Body: []byte(ev)}
	}
	return client.EncodeBatch(evs), httpapi.BatchContentType
}
