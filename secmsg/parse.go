package secmsg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse decodes and validates one message. It refuses, with a
// *ValidationError:
//   - more than MaxMessageSize bytes, bytes that are not UTF-8, anything but
//     one JSON object (trailing data included), values of the wrong JSON
//     type;
//   - fields the envelope or an event does not define (reason
//     unknown_field). Unknown fields of payload items are ignored and
//     dropped, so that an older server reads a newer agent's items;
//   - an event Name it does not know (reason unknown_event), since it
//     decides the payload's type;
//   - more than MaxEvents events or MaxItems payload items;
//   - anything Message.Validate refuses.
//
// Field names are matched as encoding/json matches them (an exact match
// first, then case-insensitively); when a key repeats, the last one counts.
// Marshal always writes the names of this package: a server that stores
// what it accepted should store the re-encoded message.
func Parse(data []byte) (*Message, error) {
	if len(data) > MaxMessageSize {
		return nil, &ValidationError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, at most %d", len(data), MaxMessageSize)}
	}
	if !utf8.Valid(data) {
		return nil, &ValidationError{Reason: ReasonBadJSON, Detail: "not valid UTF-8"}
	}
	if !isObject(data) {
		return nil, &ValidationError{Reason: ReasonBadJSON, Detail: "a message is a JSON object"}
	}
	var w wireMessage
	if err := decodeStrict(data, &w); err != nil {
		return nil, locate(data, err)
	}
	if len(w.Events) > MaxEvents {
		return nil, &ValidationError{Path: "Events", Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d events, at most %d", len(w.Events), MaxEvents)}
	}
	m := &Message{AgentVersion: w.AgentVersion, AgentID: w.AgentID, MessageSchemaVersion: w.MessageSchemaVersion}
	if w.Events != nil {
		m.Events = make([]Event, len(w.Events))
	}
	items := 0
	for i, we := range w.Events {
		if err := we.toEvent(i, &items, &m.Events[i]); err != nil {
			return nil, err
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// wireMessage and wireEvent are a message as decoded before the payload
// items are typed by the event's Name.
type wireMessage struct {
	AgentVersion         string       `json:"AgentVersion"`
	AgentID              string       `json:"AgentId"`
	MessageSchemaVersion string       `json:"MessageSchemaVersion"`
	Events               []*wireEvent `json:"Events"` // nil for a null event
}

type wireEvent struct {
	EventType            string            `json:"EventType"`
	Category             string            `json:"Category"`
	Name                 string            `json:"Name"`
	IsEmpty              bool              `json:"IsEmpty"`
	PayloadSchemaVersion string            `json:"PayloadSchemaVersion"`
	ID                   string            `json:"Id"`
	TimestampLocal       string            `json:"TimestampLocal"`
	TimestampUTC         string            `json:"TimestampUTC"`
	SnapshotMode         string            `json:"SnapshotMode"`
	Payload              []json.RawMessage `json:"Payload"`
}

// locate returns the error of a message whose decoding failed with err,
// located by decoding it again one event at a time (the errors of
// encoding/json do not say which array element failed).
func locate(data []byte, err error) *ValidationError {
	var w struct {
		AgentVersion         string            `json:"AgentVersion"`
		AgentID              string            `json:"AgentId"`
		MessageSchemaVersion string            `json:"MessageSchemaVersion"`
		Events               []json.RawMessage `json:"Events"`
	}
	if err := decodeStrict(data, &w); err != nil {
		return jsonError("", err)
	}
	for i, raw := range w.Events {
		at := "Events[" + strconv.Itoa(i) + "]"
		var we wireEvent
		if err := decodeStrict(raw, &we); err != nil {
			return jsonError(at, err)
		}
	}
	return jsonError("", err)
}

// toEvent types the payload of Events[i] into e, adding its items to *items.
func (w *wireEvent) toEvent(i int, items *int, e *Event) *ValidationError {
	at := "Events[" + strconv.Itoa(i) + "]"
	if w == nil {
		return &ValidationError{Path: at, Reason: ReasonBadJSON, Detail: "an event is a JSON object"}
	}
	if w.Name == "" {
		return &ValidationError{Path: at + ".Name", Reason: ReasonMissingField}
	}
	sp, ok := specOf(w.Name)
	if !ok {
		return &ValidationError{Path: at + ".Name", Reason: ReasonUnknownEvent, Detail: "no event is named " + quote(w.Name)}
	}
	if w.Payload == nil {
		return &ValidationError{Path: at + ".Payload", Reason: ReasonMissingField, Detail: "Payload is an array, [] when empty"}
	}
	if *items += len(w.Payload); *items > MaxItems {
		return &ValidationError{Path: at + ".Payload", Reason: ReasonTooLarge, Detail: fmt.Sprintf("more than %d payload items in the message", MaxItems)}
	}
	payload, err := sp.decode(w.Payload, i)
	if err != nil {
		return err
	}
	*e = Event{
		EventType: w.EventType, Category: w.Category, Name: w.Name, IsEmpty: w.IsEmpty,
		PayloadSchemaVersion: w.PayloadSchemaVersion, ID: w.ID,
		TimestampLocal: w.TimestampLocal, TimestampUTC: w.TimestampUTC,
		SnapshotMode: w.SnapshotMode, Payload: payload,
	}
	return nil
}

// decodeItems decodes the payload items of Events[ev] as T, ignoring
// fields T does not have.
func decodeItems[T Item](raws []json.RawMessage, ev int) ([]Item, *ValidationError) {
	items := make([]Item, len(raws))
	for j, raw := range raws {
		at := "Events[" + strconv.Itoa(ev) + "].Payload[" + strconv.Itoa(j) + "]"
		if !isObject(raw) {
			return nil, &ValidationError{Path: at, Reason: ReasonBadJSON, Detail: "a payload item is a JSON object"}
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, jsonError(at, err)
		}
		if u, ok := any(&v).(*LocalUser); ok && len(u.GroupNames) == 0 {
			u.GroupNames = nil // [] and absent read alike
		}
		items[j] = v
	}
	return items, nil
}

// decodeStrict decodes the one JSON value of data into v, refusing fields v
// does not have and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}

var errTrailing = errors.New("data after the JSON value")

// isObject reports whether the JSON value data starts as an object.
func isObject(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

// jsonError turns a decoding error of the value at path into a
// ValidationError.
func jsonError(path string, err error) *ValidationError {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return &ValidationError{
			Path:   joinPath(path, strings.ReplaceAll(typeErr.Field, "Aggregate.", "")), // promoted fields
			Reason: ReasonBadJSON,
			Detail: fmt.Sprintf("a JSON %s where %s belongs", cut(typeErr.Value), jsonKind(typeErr.Type)),
			Err:    err,
		}
	case errors.As(err, &syntaxErr):
		return &ValidationError{Path: path, Reason: ReasonBadJSON, Detail: err.Error(), Err: err}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = "?"
		}
		return &ValidationError{
			Path:   joinPath(path, shorten(name)),
			Reason: ReasonUnknownField,
			Detail: "not a field of this schema version",
			Err:    err,
		}
	}
	return &ValidationError{Path: path, Reason: ReasonBadJSON, Detail: err.Error(), Err: err}
}

func joinPath(path, field string) string {
	switch {
	case field == "":
		return path
	case path == "":
		return field
	}
	return path + "." + field
}

// cut shortens what encoding/json says of a value ("number 1e400", whose
// digits may be many) for an error message.
func cut(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// shorten cuts a hostile field name for a Path.
func shorten(s string) string {
	q := quote(s)
	if len(q) == len(s)+2 {
		return s
	}
	return q
}

// jsonKind names the JSON kind a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}
