package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/sas"
)

// TokensOptions configures a token-issuance run.
type TokensOptions struct {
	Server      string
	TLS         *tls.Config
	Conn        sas.ConnectionString // a namespace Manage connection string (to register devices)
	Hub         string
	Devices     int           // devices registered and used round-robin
	Concurrency int           // closed loop: concurrent clients; open loop: workers
	Duration    time.Duration // measured time
	Warmup      time.Duration
	Rate        int  // > 0: open loop at this many requests/s, latency from each request's scheduled time
	DeleteHub   bool // delete the hub (and its devices) afterwards
}

type benchDevice struct{ id, key string }

// Tokens registers devices and measures token issuance: every request
// carries a fresh device proof and goes through full policy evaluation.
func Tokens(ctx context.Context, o TokensOptions) (Result, error) {
	if o.Devices < 1 || o.Concurrency < 1 || o.Duration <= 0 {
		return Result{}, errors.New("bench: devices, concurrency and duration must be positive")
	}
	tokens := client.NewTokens(o.Conn, 2*time.Hour)
	admin, err := client.New(client.Options{Server: o.Server, TLS: o.TLS, Tokens: tokens})
	if err != nil {
		return Result{}, err
	}
	if _, err := admin.PutHub(ctx, o.Hub, hub.HubSpec{}); err != nil {
		return Result{}, fmt.Errorf("bench: create hub: %w", err)
	}
	devs := make([]benchDevice, o.Devices)
	var jsonl bytes.Buffer
	for i := range devs {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		devs[i] = benchDevice{id: fmt.Sprintf("bench-%06d", i), key: base64.StdEncoding.EncodeToString(k)}
		line, _ := json.Marshal(map[string]any{"id": devs[i].id, "hub": o.Hub, "primaryKey": devs[i].key})
		jsonl.Write(append(line, '\n'))
	}
	if err := admin.Raw(ctx, http.MethodPost, "/api/v1/devices:import?format=jsonl", "/", jsonl.Bytes(), "application/x-ndjson"); err != nil {
		return Result{}, fmt.Errorf("bench: import %d devices: %w", o.Devices, err)
	}
	if o.DeleteHub {
		defer func() {
			for _, d := range devs {
				_ = admin.Raw(context.Background(), http.MethodDelete, "/api/v1/devices/"+d.id, "/", nil, "")
			}
			_ = admin.DeleteHub(context.Background(), o.Hub)
		}()
	}

	path := "/api/v1/discovery/token"
	clients := make([]*rawClient, o.Concurrency)
	for w := range clients {
		if clients[w], err = newRawClient(strings.TrimRight(o.Server, "/")+path, o.TLS); err != nil {
			return Result{}, err
		}
		defer clients[w].close()
	}
	ns := o.Conn.Namespace()

	var next atomic.Int64
	var measuring atomic.Bool
	var count atomic.Int64
	var errMu sync.Mutex
	errs := map[string]int64{}
	lat := make([][]time.Duration, o.Concurrency)
	one := func(w int, scheduled time.Time) (time.Duration, string) {
		n := next.Add(1)
		d := devs[n%int64(len(devs))]
		// A proof is accepted once: each pass over the devices uses another
		// expiry so a device's consecutive proofs differ even within a second.
		pass := time.Duration((n/int64(len(devs)))%200) * time.Second
		proof, _ := sas.SignIoTHub(ns+"/devices/"+d.id, "", d.key, time.Now().Add(time.Minute+pass))
		status, body, err := clients[w].post(ctx, path, proof, nil)
		took := time.Since(scheduled)
		if err != nil {
			return took, "transport"
		}
		if status != http.StatusOK {
			var b apierr.Body
			_ = json.Unmarshal(body, &b)
			return took, fmt.Sprintf("%d_%s", status, b.Error.Reason)
		}
		if !bytes.Contains(body, []byte(`"token":"SharedAccessSignature `)) {
			return took, "200_without_token"
		}
		return took, ""
	}
	record := func(w int, took time.Duration, reason string) {
		if !measuring.Load() {
			return
		}
		if reason != "" {
			errMu.Lock()
			errs[reason]++
			errMu.Unlock()
			return
		}
		count.Add(1)
		lat[w] = append(lat[w], took)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if o.Rate <= 0 { // closed loop
		for w := range o.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					took, reason := one(w, time.Now())
					record(w, took, reason)
				}
			}()
		}
	} else { // open loop: a pacer schedules requests; latency counts queueing
		sched := make(chan time.Time, o.Concurrency*4)
		for w := range o.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for at := range sched {
					took, reason := one(w, at)
					record(w, took, reason)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(sched)
			interval := time.Second / time.Duration(o.Rate)
			at := time.Now()
			for runCtx.Err() == nil {
				at = at.Add(interval)
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				select {
				case sched <- at:
				case <-runCtx.Done():
					return
				}
			}
		}()
	}
	elapsed := window(ctx, o.Warmup, o.Duration, &measuring)
	cancel()
	wg.Wait()
	all := slices.Concat(lat...)
	name := fmt.Sprintf("tokens, %d devices, closed loop", o.Devices)
	if o.Rate > 0 {
		name = fmt.Sprintf("tokens, %d devices, open loop at %d requests/s", o.Devices, o.Rate)
	}
	return Result{Name: name, Duration: elapsed, Requests: count.Load(), Events: count.Load(), Errors: errs,
		Latency: summarize(all), Concurrency: o.Concurrency, Unit: "tokens"}, ctx.Err()
}
