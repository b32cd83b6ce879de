package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
)

// EventView is the JSON shape of a stored event in the read API.
type EventView struct {
	Sequence     uint64         `json:"sequence"`
	EnqueuedTime time.Time      `json:"enqueuedTime"`
	Publisher    string         `json:"publisher,omitempty"`
	PartitionKey string         `json:"partitionKey,omitempty"`
	Properties   map[string]any `json:"properties,omitempty"`
	Body         []byte         `json:"body"` // base64 in JSON
}

// ReadResponse is the body of GET /{hub}/partitions/{p}/events.
type ReadResponse struct {
	Events []EventView `json:"events"`
	Next   uint64      `json:"next"`
}

func (a *API) readEvents(w http.ResponseWriter, r *http.Request) error {
	h, p, err := hubAndPartition(r)
	if err != nil {
		return err
	}
	if _, err := a.authorize(r, resourceOf(h, "partitions", strconv.Itoa(p)), hub.Listen); err != nil {
		return err
	}
	from, limit, wait, err := a.readParams(r)
	if err != nil {
		return err
	}
	evs, next, err := a.core.Read(r.Context(), h, p, from, limit, wait)
	if err != nil {
		if r.Context().Err() != nil {
			return errClientGone
		}
		return err
	}
	out := ReadResponse{Events: make([]EventView, len(evs)), Next: next}
	for i, e := range evs {
		out.Events[i] = EventView{Sequence: e.Sequence, EnqueuedTime: e.EnqueuedTime, Publisher: e.Publisher,
			PartitionKey: e.PartitionKey, Properties: e.Properties, Body: e.Body}
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// PartitionView is the body of GET /{hub}/partitions/{p}.
type PartitionView struct {
	Hub              string    `json:"hub"`
	Partition        int       `json:"partition"`
	Empty            bool      `json:"empty"`
	FirstSequence    uint64    `json:"firstSequence"`
	LastSequence     uint64    `json:"lastSequence"`
	LastEnqueuedTime time.Time `json:"lastEnqueuedTime,omitzero"`
}

func (a *API) partitionInfo(w http.ResponseWriter, r *http.Request) error {
	h, p, err := hubAndPartition(r)
	if err != nil {
		return err
	}
	if _, err := a.authorize(r, resourceOf(h, "partitions", strconv.Itoa(p)), hub.Listen); err != nil {
		return err
	}
	info, err := a.core.PartitionInfo(r.Context(), h, p)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, PartitionView{Hub: h, Partition: p, Empty: info.Empty, FirstSequence: info.FirstSequence,
		LastSequence: info.LastSequence, LastEnqueuedTime: info.LastEnqueuedTime})
	return nil
}

func parseWait(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// CheckpointView is the JSON shape of a checkpoint.
type CheckpointView struct {
	ConsumerGroup string    `json:"consumerGroup"`
	Partition     int       `json:"partition"`
	Sequence      uint64    `json:"sequence"`
	Metadata      string    `json:"metadata,omitempty"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

type putCheckpointBody struct {
	Sequence *uint64 `json:"sequence"`
	Metadata string  `json:"metadata"`
}

func (a *API) checkpointScope(r *http.Request) (string, string, int, error) {
	h, err := hubParam(r)
	if err != nil {
		return "", "", 0, err
	}
	g, err := hub.CanonicalGroup(r.PathValue("group"))
	if err != nil {
		return "", "", 0, err
	}
	p, err := partitionParam(r)
	if err != nil {
		return "", "", 0, err
	}
	_, err = a.authorize(r, resourceOf(h, "consumergroups", g), hub.Listen)
	return h, g, p, err
}

func (a *API) putCheckpoint(w http.ResponseWriter, r *http.Request) error {
	h, g, p, err := a.checkpointScope(r)
	if err != nil {
		return err
	}
	var body putCheckpointBody
	if err := DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Sequence == nil {
		return apierr.BadRequest("bad_json", "sequence is required")
	}
	cp, err := a.core.PutCheckpoint(r.Context(), store.Checkpoint{Hub: h, ConsumerGroup: g, Partition: p,
		Sequence: *body.Sequence, Metadata: body.Metadata})
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewCheckpoint(cp))
	return nil
}

func (a *API) getCheckpoint(w http.ResponseWriter, r *http.Request) error {
	h, g, p, err := a.checkpointScope(r)
	if err != nil {
		return err
	}
	cp, err := a.core.GetCheckpoint(r.Context(), h, g, p)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewCheckpoint(cp))
	return nil
}

func viewCheckpoint(c store.Checkpoint) CheckpointView {
	return CheckpointView{c.ConsumerGroup, c.Partition, c.Sequence, c.Metadata, c.UpdatedAt}
}

// SecurityRecordView is one security stream record in the read API. Data is
// the record as stored: a JSON object whose shape depends on Source (see
// docs/security-stream.md).
type SecurityRecordView struct {
	Sequence uint64          `json:"sequence"`
	Time     time.Time       `json:"time"`
	Hub      string          `json:"hub"`
	Source   string          `json:"source"`
	Device   string          `json:"device,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// SecurityReadResponse is the body of GET /{hub}/security.
type SecurityReadResponse struct {
	Records []SecurityRecordView `json:"records"`
	Next    uint64               `json:"next"`
}

func (a *API) readSecurity(w http.ResponseWriter, r *http.Request) error {
	h, err := hubParam(r)
	if err != nil {
		return err
	}
	if _, err := a.authorize(r, resourceOf(h), hub.Listen); err != nil {
		return err
	}
	if r.URL.Query().Get("from") == "end" {
		end, err := a.core.SecurityEnd(r.Context())
		if err != nil {
			return err
		}
		q := r.URL.Query()
		q.Set("from", strconv.FormatUint(end, 10))
		r.URL.RawQuery = q.Encode()
	}
	from, limit, wait, err := a.readParams(r)
	if err != nil {
		return err
	}
	es, next, err := a.core.ReadSecurity(r.Context(), h, r.URL.Query().Get("device"), from, limit, wait)
	if err != nil {
		if r.Context().Err() != nil {
			return errClientGone
		}
		return err
	}
	out := SecurityReadResponse{Records: make([]SecurityRecordView, len(es)), Next: next}
	for i, e := range es {
		data := json.RawMessage(e.Data)
		if !json.Valid(data) { // never break the response with a foreign record
			data, _ = json.Marshal(string(e.Data))
		}
		out.Records[i] = SecurityRecordView{Sequence: e.Sequence, Time: e.Time, Hub: e.Hub, Source: e.Source, Device: e.Device, Data: data}
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// readParams parses from, limit and wait of a read request.
func (a *API) readParams(r *http.Request) (from uint64, limit int, wait time.Duration, err error) {
	q := r.URL.Query()
	from = 1
	if s := q.Get("from"); s != "" {
		if from, err = strconv.ParseUint(s, 10, 64); err != nil {
			return 0, 0, 0, apierr.BadRequest("invalid_query", "from must be a sequence number")
		}
	}
	limit = hub.DefaultReadLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > hub.MaxReadLimit {
			return 0, 0, 0, apierr.BadRequest("invalid_query", "limit must be 1..%d", hub.MaxReadLimit)
		}
	}
	if s := q.Get("wait"); s != "" {
		if wait, err = parseWait(s); err != nil || wait < 0 {
			return 0, 0, 0, apierr.BadRequest("invalid_query", "wait must be a duration like 5s (or seconds)")
		}
		wait = min(wait, a.o.ReadMaxWait)
	}
	return from, limit, wait, nil
}
