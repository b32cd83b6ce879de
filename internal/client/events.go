package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/hub/httpapi"
)

// Event is an event to send.
type Event struct {
	Body         []byte
	Properties   map[string]any
	PartitionKey string
}

// Target says where a send goes: the hub, one publisher, or one partition.
type Target struct {
	Hub       string
	Publisher string // optional
	Partition *int   // optional, exclusive with Publisher
}

func (t Target) paths() (path, resource string) {
	h := strings.ToLower(t.Hub)
	switch {
	case t.Publisher != "":
		p := strings.ToLower(t.Publisher)
		return "/" + esc(h) + "/publishers/" + esc(p) + "/messages", "/" + h + "/publishers/" + p
	case t.Partition != nil:
		n := strconv.Itoa(*t.Partition)
		return "/" + esc(h) + "/partitions/" + n + "/messages", "/" + h + "/partitions/" + n
	}
	return "/" + esc(h) + "/messages", "/" + h
}

type batchItem struct {
	Body             string         `json:"Body"`
	UserProperties   map[string]any `json:"UserProperties,omitempty"`
	BrokerProperties map[string]any `json:"BrokerProperties,omitempty"`
}

// EncodeBatch encodes events as an Event Hubs batch body.
func EncodeBatch(events []Event) []byte {
	items := make([]batchItem, len(events))
	for i, e := range events {
		items[i] = batchItem{Body: string(e.Body), UserProperties: e.Properties}
		if e.PartitionKey != "" {
			items[i].BrokerProperties = map[string]any{"PartitionKey": e.PartitionKey}
		}
	}
	b, _ := json.Marshal(items)
	return b
}

// Send sends events; one event goes as a plain body with its properties as
// headers, several as a batch. It returns once the server answered 201.
func (c *Client) Send(ctx context.Context, t Target, events ...Event) error {
	if len(events) == 0 {
		return fmt.Errorf("client: nothing to send")
	}
	path, res := t.paths()
	if len(events) == 1 {
		e := events[0]
		hdr := http.Header{"Content-Type": {"application/octet-stream"}}
		for k, v := range e.Properties {
			hdr.Set(k, fmt.Sprint(v))
		}
		if e.PartitionKey != "" {
			bp, _ := json.Marshal(map[string]string{"PartitionKey": e.PartitionKey})
			hdr.Set("BrokerProperties", string(bp))
		}
		return c.do(ctx, http.MethodPost, path, res, bytes.NewReader(e.Body), hdr, nil)
	}
	return c.SendRaw(ctx, t, EncodeBatch(events), http.Header{"Content-Type": {httpapi.BatchContentType}})
}

// SendRaw posts a prepared body (for benchmarks and protocol tests).
func (c *Client) SendRaw(ctx context.Context, t Target, body []byte, hdr http.Header) error {
	path, res := t.paths()
	return c.do(ctx, http.MethodPost, path, res, bytes.NewReader(body), hdr, nil)
}

// Read reads events of one partition from sequence from.
func (c *Client) Read(ctx context.Context, hubName string, partition int, from uint64, limit int, wait time.Duration) (httpapi.ReadResponse, error) {
	var out httpapi.ReadResponse
	h := strings.ToLower(hubName)
	q := fmt.Sprintf("?from=%d&limit=%d", from, limit)
	if wait > 0 {
		q += "&wait=" + wait.String()
	}
	p := strconv.Itoa(partition)
	return out, c.do(ctx, http.MethodGet, "/"+esc(h)+"/partitions/"+p+"/events"+q, "/"+h+"/partitions/"+p, nil, nil, &out)
}

// ReadSecurity reads a hub's security stream (device "" = every device)
// from sequence from (0 = only records stored from now on).
func (c *Client) ReadSecurity(ctx context.Context, hubName, device string, from uint64, limit int, wait time.Duration) (httpapi.SecurityReadResponse, error) {
	var out httpapi.SecurityReadResponse
	h := strings.ToLower(hubName)
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if from == 0 {
		q.Set("from", "end")
	} else {
		q.Set("from", strconv.FormatUint(from, 10))
	}
	if device != "" {
		q.Set("device", device)
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	return out, c.do(ctx, http.MethodGet, "/"+esc(h)+"/security?"+q.Encode(), "/"+h, nil, nil, &out)
}

// PutCheckpoint records a consumer group's position.
func (c *Client) PutCheckpoint(ctx context.Context, hubName, group string, partition int, seq uint64) (httpapi.CheckpointView, error) {
	var out httpapi.CheckpointView
	h, g := strings.ToLower(hubName), strings.ToLower(group)
	body, hdr := jsonBody(map[string]any{"sequence": seq})
	return out, c.do(ctx, http.MethodPut, "/"+esc(h)+"/consumergroups/"+esc(g)+"/checkpoints/"+strconv.Itoa(partition),
		"/"+h+"/consumergroups/"+g, body, hdr, &out)
}

// GetCheckpoint returns a consumer group's position.
func (c *Client) GetCheckpoint(ctx context.Context, hubName, group string, partition int) (httpapi.CheckpointView, error) {
	var out httpapi.CheckpointView
	h, g := strings.ToLower(hubName), strings.ToLower(group)
	return out, c.do(ctx, http.MethodGet, "/"+esc(h)+"/consumergroups/"+esc(g)+"/checkpoints/"+strconv.Itoa(partition),
		"/"+h+"/consumergroups/"+g, nil, nil, &out)
}

// PartitionInfo returns the first and last retained sequence of a partition.
func (c *Client) PartitionInfo(ctx context.Context, hubName string, partition int) (httpapi.PartitionView, error) {
	var out httpapi.PartitionView
	h, p := strings.ToLower(hubName), strconv.Itoa(partition)
	return out, c.do(ctx, http.MethodGet, "/"+esc(h)+"/partitions/"+p, "/"+h+"/partitions/"+p, nil, nil, &out)
}
