package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
)

// BatchContentType marks a batch send, as in Event Hubs.
const BatchContentType = "application/vnd.microsoft.servicebus.json"

func (a *API) sendHub(w http.ResponseWriter, r *http.Request) error {
	h, err := hubParam(r)
	if err != nil {
		return err
	}
	return a.send(w, r, hub.SendRequest{Hub: h, Partition: -1}, resourceOf(h))
}

func (a *API) sendPublisher(w http.ResponseWriter, r *http.Request) error {
	h, err := hubParam(r)
	if err != nil {
		return err
	}
	p, err := hub.CanonicalPublisher(r.PathValue("publisher"))
	if err != nil {
		return err
	}
	return a.send(w, r, hub.SendRequest{Hub: h, Publisher: p, Partition: -1}, resourceOf(h, "publishers", p))
}

func (a *API) sendPartition(w http.ResponseWriter, r *http.Request) error {
	h, p, err := hubAndPartition(r)
	if err != nil {
		return err
	}
	return a.send(w, r, hub.SendRequest{Hub: h, Partition: p}, resourceOf(h, "partitions", strconv.Itoa(p)))
}

func (a *API) send(w http.ResponseWriter, r *http.Request, req hub.SendRequest, resource string) error {
	if _, err := a.authorize(r, resource, hub.Send); err != nil {
		return err
	}
	if err := a.core.CheckPublisher(req.Hub, req.Publisher); err != nil {
		a.reportAuthFailure(r, resource, err)
		return err
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	if err := a.readBody(w, r, buf); err != nil {
		return err
	}
	var err error
	if isBatch(r.Header.Get("Content-Type")) {
		req.Events, err = ParseBatch(buf.Bytes())
	} else {
		req.Events, err = singleEvent(r, buf.Bytes())
	}
	if err != nil {
		return err
	}
	ctx := r.Context()
	if t := r.URL.Query().Get("timeout"); t != "" {
		// Event Hubs' timeout parameter, in seconds.
		if secs, err := strconv.Atoi(t); err == nil && secs > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(min(secs, 3600))*time.Second)
			defer cancel()
		}
	}
	if _, err := a.core.Send(ctx, req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func isBatch(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return strings.EqualFold(mt, BatchContentType)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 2<<20 { // don't keep huge buffers alive
		b.Reset()
		bufPool.Put(b)
	}
}

// readBody reads the request body into buf, inflating gzip, and enforces the
// size limit on the decompressed size (a gzip bomb stops at the limit).
func (a *API) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) error {
	max := int64(a.o.MaxBody)
	tooLarge := apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", "request body over %d bytes", max)
	var src io.Reader
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		if r.ContentLength > max {
			return tooLarge
		}
		src = http.MaxBytesReader(w, r.Body, max)
	case "gzip":
		// The compressed stream is bounded too, by the same limit: it can only be smaller.
		zr, err := gzip.NewReader(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			return apierr.BadRequest("bad_encoding", "gzip body: %v", err)
		}
		defer zr.Close()
		src = io.LimitReader(zr, max+1)
	default:
		return apierr.New(http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding %q: want gzip or none", enc)
	}
	if _, err := buf.ReadFrom(src); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return tooLarge
		case r.Context().Err() != nil:
			return errClientGone
		case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF):
			return apierr.BadRequest("bad_encoding", "body: %v", err)
		}
		return apierr.BadRequest("bad_body", "reading body: %v", err)
	}
	if int64(buf.Len()) > max {
		return tooLarge
	}
	return nil
}

// notProperties are request headers that are part of HTTP or of the Event
// Hubs protocol, never user properties. Everything else is one.
var notProperties = map[string]bool{
	"Accept": true, "Accept-Charset": true, "Accept-Encoding": true, "Accept-Language": true,
	"Authorization": true, "Brokerproperties": true, "Cache-Control": true, "Connection": true,
	"Content-Encoding": true, "Content-Length": true, "Content-Type": true, "Cookie": true,
	"Date": true, "Expect": true, "Forwarded": true, "Host": true, "Keep-Alive": true,
	"Origin": true, "Pragma": true, "Proxy-Authorization": true, "Referer": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "User-Agent": true, "Via": true,
	"Traceparent": true, "Tracestate": true,
}

func isProperty(name string) bool {
	if notProperties[name] {
		return false
	}
	for _, p := range []string{"X-Forwarded-", "X-Real-", "Sec-", "Proxy-", "X-Ms-", "Aeg-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}

// Limits on user properties of one event.
const (
	maxProperties     = 64
	maxPropertyLength = 4096
)

func singleEvent(r *http.Request, body []byte) ([]hub.Event, error) {
	ev := hub.Event{Body: bytes.Clone(body)}
	if bp := r.Header.Get("BrokerProperties"); bp != "" {
		p, err := parseBrokerProperties([]byte(bp))
		if err != nil {
			return nil, apierr.BadRequest("malformed_broker_properties", "BrokerProperties header: %v", err)
		}
		ev.PartitionKey = p.PartitionKey
	}
	for name, vals := range r.Header {
		if !isProperty(name) || len(vals) == 0 {
			continue
		}
		if ev.Properties == nil {
			ev.Properties = map[string]any{}
		}
		if len(ev.Properties) == maxProperties {
			return nil, apierr.BadRequest("too_many_properties", "at most %d user properties per event", maxProperties)
		}
		v := vals[0]
		if len(v) > maxPropertyLength {
			return nil, apierr.BadRequest("property_too_large", "property %q over %d bytes", name, maxPropertyLength)
		}
		// A quoted value is a string with its quotes removed, as in Event Hubs.
		if uq, err := strconv.Unquote(v); err == nil && len(v) >= 2 && v[0] == '"' {
			v = uq
		}
		ev.Properties[name] = v
	}
	return []hub.Event{ev}, nil
}
