package center

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/secmsg"
)

// Record is a security stream record as the center receives it (the
// eventlog's SecurityEntry, without the dependency).
type Record struct {
	Sequence uint64
	Time     time.Time // when the stream stored it
	Hub      string
	Source   string
	Device   string
	Data     []byte
}

// AgentMessage is what one agent record says about its message, for the
// per-device agent statistics.
type AgentMessage struct {
	Device string
	Hub    string
	Bytes  int
	Events int
}

// agentRecord mirrors hub.AgentRecord (the center does not import the hub).
type agentRecord struct {
	Device     string          `json:"deviceId"`
	Hub        string          `json:"hub"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Message    json.RawMessage `json:"message"`
}

// decision mirrors the fields of discovery.Decision the center uses.
type decision struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	DeviceID string    `json:"deviceId"`
	Hub      string    `json:"hub"`
	Result   string    `json:"result"`
	Message  string    `json:"message"`
	Source   string    `json:"sourceAddress"`
	Proof    string    `json:"proof"`
	Location *struct {
		Lat float64 `json:"lat"`
		Lon float64 `json:"lon"`
	} `json:"location"`
	Firmware string `json:"firmware"`
}

// AuthFailure is the record the hub files (source "hub") when it refuses
// a request's authorization.
type AuthFailure struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	Hub           string    `json:"hub"`
	Publisher     string    `json:"publisher,omitempty"`
	Reason        string    `json:"reason"`
	SourceAddress string    `json:"sourceAddress,omitempty"`
	Rule          string    `json:"rule,omitempty"` // the key name the token named
}

// Decode turns one record into events. A record it cannot read is an error
// (the caller skips and counts it: it will never become readable).
func Decode(r Record) ([]Event, *AgentMessage, error) {
	switch r.Source {
	case SourceAgent:
		return decodeAgent(r)
	case SourceDiscovery:
		var d decision
		if err := json.Unmarshal(r.Data, &d); err != nil || d.ID == "" {
			return nil, nil, fmt.Errorf("center: discovery record %d: not a decision (%v)", r.Sequence, err)
		}
		f := map[string]string{"result": d.Result, "sourceAddress": d.Source, "proof": d.Proof}
		if d.Message != "" {
			f["message"] = clip(d.Message, 512)
		}
		if d.Firmware != "" {
			f["firmware"] = clip(d.Firmware, 128)
		}
		if d.Location != nil {
			f["lat"] = strconv.FormatFloat(d.Location.Lat, 'f', -1, 64)
			f["lon"] = strconv.FormatFloat(d.Location.Lon, 'f', -1, 64)
		}
		dev := d.DeviceID
		if dev == "" {
			dev = r.Device
		}
		return []Event{{ID: "decision/" + d.ID, Device: dev, Hub: r.Hub, Source: SourceDiscovery, Name: NameTokenDecision,
			Time: d.Time.UTC(), LastTime: d.Time.UTC(), Count: 1, Fields: f, Received: r.Time}}, nil, nil
	case SourceHub:
		var a AuthFailure
		if err := json.Unmarshal(r.Data, &a); err != nil || a.ID == "" {
			return nil, nil, fmt.Errorf("center: hub record %d: not an authorization failure (%v)", r.Sequence, err)
		}
		f := map[string]string{"reason": a.Reason}
		if a.Publisher != "" {
			f["publisher"] = a.Publisher
		}
		if a.SourceAddress != "" {
			f["sourceAddress"] = a.SourceAddress
		}
		if a.Rule != "" {
			f["rule"] = a.Rule
		}
		return []Event{{ID: "authfailure/" + a.ID, Device: a.Publisher, Hub: r.Hub, Source: SourceHub, Name: NameAuthFailure,
			Time: a.Time.UTC(), LastTime: a.Time.UTC(), Count: 1, Fields: f, Received: r.Time}}, nil, nil
	}
	return nil, nil, fmt.Errorf("center: record %d: unknown source %q", r.Sequence, r.Source)
}

// decodeAgent decodes an agent record with the fast decoder (fastdecode.go),
// which refuses what it cannot decode exactly as decodeAgentStrict would;
// the strict path then decides, and reports why a record is unreadable.
func decodeAgent(r Record) ([]Event, *AgentMessage, error) {
	if evs, am, err := decodeAgentFast(r); err == nil {
		return evs, am, nil
	}
	return decodeAgentStrict(r)
}

// decodeAgentStrict decodes an agent record with encoding/json and
// secmsg.Parse: the reference the fast decoder matches.
func decodeAgentStrict(r Record) ([]Event, *AgentMessage, error) {
	var ar agentRecord
	if err := json.Unmarshal(r.Data, &ar); err != nil {
		return nil, nil, fmt.Errorf("center: agent record %d: %w", r.Sequence, err)
	}
	m, err := secmsg.Parse(ar.Message)
	if err != nil {
		return nil, nil, fmt.Errorf("center: agent record %d: %w", r.Sequence, err)
	}
	dev := ar.Device
	if dev == "" {
		dev = r.Device
	}
	var out []Event
	for _, ev := range m.Events {
		ts, _ := secmsg.ParseTime(ev.TimestampUTC)
		base := Event{Device: dev, Hub: r.Hub, Source: SourceAgent, Name: ev.Name, Time: ts, LastTime: ts, Count: 1,
			SnapshotMode: ev.SnapshotMode, Received: r.Time}
		if ev.Category == secmsg.CategoryPeriodic && base.SnapshotMode == "" {
			base.SnapshotMode = secmsg.SnapshotFull
		}
		if len(ev.Payload) == 0 {
			// An empty event (an empty Full snapshot: nothing of that name
			// on the device) is one event without fields.
			e := base
			e.ID = ev.ID + "/0"
			e.Fields = map[string]string{}
			out = append(out, e)
			continue
		}
		for i, it := range ev.Payload {
			e := base
			e.ID = ev.ID + "/" + strconv.Itoa(i)
			e.Fields = Flatten(it)
			e.ItemKey = it.Key()
			e.aggregate(it)
			e.Change = e.Fields["Change"]
			delete(e.Fields, "Change")
			out = append(out, e)
		}
	}
	return out, &AgentMessage{Device: dev, Hub: r.Hub, Bytes: len(ar.Message), Events: len(m.Events)}, nil
}

// aggregate takes an aggregated item's hit count and first and last times
// (the event's timestamp stays when they do not parse).
func (e *Event) aggregate(it secmsg.Item) {
	a, ok := secmsg.AggregateOf(it)
	if !ok {
		return
	}
	e.Count = a.Hits()
	if t, err := secmsg.ParseTime(a.FirstSeen); err == nil {
		e.Time = t
	}
	if t, err := secmsg.ParseTime(a.LastSeen); err == nil {
		e.LastTime = t
	}
}

// Flatten returns an item's fields by their JSON names, as strings
// (numbers in decimal, booleans true/false, lists joined with ","), without
// the aggregation fields. Logins, the bulk of the traffic, take a fast path.
func Flatten(it secmsg.Item) map[string]string {
	if l, ok := it.(secmsg.Login); ok {
		f := make(map[string]string, 12)
		put := func(k, v string) {
			if v != "" {
				f[k] = v
			}
		}
		put("UserName", l.UserName)
		put("Operation", l.Operation)
		put("Executable", l.Executable)
		put("RemoteAddress", l.RemoteAddress)
		put("Result", l.Result)
		put("AuthMethod", l.AuthMethod)
		put("Source", l.Source)
		if l.ProcessID != 0 {
			f["ProcessId"] = strconv.Itoa(l.ProcessID)
		}
		if l.RemotePort != 0 {
			f["RemotePort"] = strconv.Itoa(l.RemotePort)
		}
		if l.LocalPort != 0 {
			f["LocalPort"] = strconv.Itoa(l.LocalPort)
		}
		if l.InvalidUser {
			f["InvalidUser"] = "true"
		}
		return f
	}
	b, err := json.Marshal(it)
	if err != nil {
		return map[string]string{}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]string{}
	}
	f := make(map[string]string, len(m))
	for k, v := range m {
		switch k {
		case "HitCount", "FirstSeen", "LastSeen":
			continue
		}
		if s := flatValue(v); s != "" || k == "Change" {
			f[k] = s
		}
	}
	return f
}

func flatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, flatValue(e))
		}
		return strings.Join(parts, ",")
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
