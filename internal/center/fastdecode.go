package center

// This file holds the fast decoder of agent records. decodeAgentStrict
// reads a record with encoding/json's reflection three times over (the
// envelope, secmsg.Parse, then Flatten's marshal and unmarshal of every
// item), which made decoding a main cost of the pipeline. The fast decoder
// streams the record's tokens once with jsontext and fills secmsg's typed
// items from a table of their fields, without reflection.
//
// It produces exactly what decodeAgentStrict produces, or refuses. To
// accept exactly the messages secmsg.Parse accepts, it builds the same
// typed message Parse builds and validates it with secmsg's own
// Message.Validate (rather than a copy of its rules). The flattened fields
// and the item keys are computed from the decoded values by the rules of
// Flatten and of the types' Key (the tests hold them to the originals).
// What it cannot read the way encoding/json and secmsg.Parse would, it
// refuses, and decodeAgent falls back to the strict path, which decides.
// It refuses:
//   - anything but the canonical form the hub writes: a field name that is
//     not exactly one of the schema's (encoding/json would also match it
//     case-insensitively, or ignore it in an item or the envelope), null,
//     a repeated field (encoding/json keeps the last), a field of an event
//     after its Payload, a Payload before the event's Name;
//   - what jsontext refuses and encoding/json takes: invalid UTF-8 and
//     lone surrogate escapes (which encoding/json turns into U+FFFD);
//   - a message holding no event or more than one, more than
//     secmsg.MaxItems items, an unknown event name;
//   - a record longer than maxFastRecord, and everything secmsg refuses
//     (the strict path then reports why).

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/moatsec/moat/secmsg"
)

// maxFastRecord bounds the records the fast decoder reads: a message is at
// most secmsg.MaxMessageSize bytes, and the envelope's other fields are
// short. A longer record goes to the strict path without being read twice.
const maxFastRecord = secmsg.MaxMessageSize + 16<<10

// refusal is why the fast decoder refused a record. The strict path reads
// the record then; refusals are never reported.
type refusal string

func (r refusal) Error() string { return "center: fast decoder refused the record: " + string(r) }

const (
	errTooLarge     refusal = "record too large"
	errKind         refusal = "a value of an unexpected JSON kind"
	errField        refusal = "a field name outside the canonical form"
	errShape        refusal = "not one event with a payload after its header"
	errUnknownEvent refusal = "unknown event name"
	errTrailing     refusal = "data after the record"
	errRepeated     refusal = "a repeated field"
)

// fieldKind is the Go type of a payload item's field.
type fieldKind uint8

const (
	kindString  fieldKind = iota // string
	kindInt                      // int
	kindInt64                    // int64
	kindBool                     // bool
	kindStrings                  // []string
)

// itemField describes one field of a payload type, in the order of the
// struct (the Aggregate's fields, embedded, last).
type itemField struct {
	name      string // the JSON name
	kind      fieldKind
	omitempty bool
	agg       bool // HitCount, FirstSeen, LastSeen: Flatten leaves them out
}

// maxItemFields bounds the fields of a payload type (FirewallRule has 18).
const maxItemFields = 20

// fieldValue holds one decoded field; which member counts depends on the
// field's kind. Absent fields stay zero, as encoding/json leaves them.
type fieldValue struct {
	s    string
	n    int64
	b    bool
	list []string
}

type itemValues [maxItemFields]fieldValue

// itemType is the decoding table of one payload type.
type itemType struct {
	fields []itemField
	// change is the index of the Change field, -1 for a Triggered type.
	change int
	// build returns the typed item of the values, as encoding/json would
	// have decoded it (LocalUser's empty GroupNames nil, as Parse makes it).
	build func(v *itemValues) secmsg.Item
	// keyParts are the indices of the fields that the type's Key joins, in
	// order; keyConst is its Key when a constant. With neither (a
	// firewall rule's Key depends on IsDefaultPolicy), the typed item's
	// Key is called.
	keyParts []int
	keyConst string
	// itoa: Flatten formats the integers with strconv.Itoa (its fast path
	// for Logins), not through float64.
	itoa bool
}

// index returns the index of the field named name, -1 for none.
func (t *itemType) index(name []byte) int {
	for i := range t.fields {
		if t.fields[i].name == string(name) {
			return i
		}
	}
	return -1
}

// flatten returns the fields of an item as Flatten returns them for the
// typed item, without Change (returned apart: decodeAgentStrict takes it
// out of the map). Flatten marshals the item and unmarshals it into a
// map[string]any: a field is there unless omitempty and zero; numbers
// become float64 (formatted back with 'f', -1); empty strings are dropped
// (Change excepted, but Change is omitempty); lists are joined with ",".
// For Logins, Flatten's fast path leaves out the zero fields (all are
// omitempty but Operation and Result, strings) and formats the integers
// with strconv.Itoa.
func (t *itemType) flatten(v *itemValues) (fields map[string]string, change string) {
	// Size the map exactly: a map of at most 8 entries is a single group.
	n := 0
	for i := range t.fields {
		if t.present(i, v) {
			n++
		}
	}
	f := make(map[string]string, n)
	for i := range t.fields {
		if !t.present(i, v) {
			continue
		}
		fd, x := &t.fields[i], &v[i]
		switch fd.kind {
		case kindString:
			f[fd.name] = x.s
		case kindInt, kindInt64:
			if t.itoa {
				f[fd.name] = strconv.FormatInt(x.n, 10)
			} else {
				f[fd.name] = strconv.FormatFloat(float64(x.n), 'f', -1, 64)
			}
		case kindBool:
			f[fd.name] = strconv.FormatBool(x.b)
		case kindStrings:
			f[fd.name] = strings.Join(x.list, ",")
		}
	}
	if t.change >= 0 {
		change = v[t.change].s
	}
	return f, change
}

// present reports whether field i is in the item's flattened fields.
func (t *itemType) present(i int, v *itemValues) bool {
	fd, x := &t.fields[i], &v[i]
	if fd.agg || i == t.change {
		return false
	}
	switch fd.kind {
	case kindString:
		return x.s != ""
	case kindInt, kindInt64:
		return x.n != 0 || !fd.omitempty
	case kindBool:
		return x.b || !fd.omitempty
	case kindStrings:
		// nil and [] marshal as null and [] (or not at all), both "".
		return len(x.list) > 1 || len(x.list) == 1 && x.list[0] != ""
	}
	return false
}

// key returns the item's Key, computed from its values when the type's
// Key joins fields (see secmsg's key: '|' between the parts, '|' and '\'
// inside them escaped with '\', integers in decimal, booleans true or
// false).
func (d *fastDecoder) key(t *itemType, it secmsg.Item) string {
	switch {
	case t.keyConst != "":
		return t.keyConst
	case t.keyParts == nil:
		return it.Key()
	}
	b := d.keyBuf[:0]
	for j, i := range t.keyParts {
		if j > 0 {
			b = append(b, '|')
		}
		x := &d.vals[i]
		switch t.fields[i].kind {
		case kindString:
			if strings.IndexByte(x.s, '|') < 0 && strings.IndexByte(x.s, '\\') < 0 {
				b = append(b, x.s...)
				break
			}
			for k := 0; k < len(x.s); k++ {
				if x.s[k] == '|' || x.s[k] == '\\' {
					b = append(b, '\\')
				}
				b = append(b, x.s[k])
			}
		case kindInt, kindInt64:
			b = strconv.AppendInt(b, x.n, 10)
		case kindBool:
			b = strconv.AppendBool(b, x.b)
		}
	}
	d.keyBuf = b
	return string(b)
}

// Field tables of the payload types, checked against the structs'
// definitions by TestItemTablesMatchTypes.
func fStr(name string) itemField     { return itemField{name: name, kind: kindString} }
func fStrOmit(name string) itemField { return itemField{name: name, kind: kindString, omitempty: true} }
func fInt(name string) itemField     { return itemField{name: name, kind: kindInt} }
func fIntOmit(name string) itemField { return itemField{name: name, kind: kindInt, omitempty: true} }
func fInt64(name string) itemField   { return itemField{name: name, kind: kindInt64} }
func fInt64Omit(name string) itemField {
	return itemField{name: name, kind: kindInt64, omitempty: true}
}
func fBool(name string) itemField     { return itemField{name: name, kind: kindBool} }
func fBoolOmit(name string) itemField { return itemField{name: name, kind: kindBool, omitempty: true} }

// aggregateFields are the fields of secmsg.Aggregate, embedded last in
// every Triggered type.
var aggregateFields = []itemField{
	{name: "HitCount", kind: kindInt64, omitempty: true, agg: true},
	{name: "FirstSeen", kind: kindString, omitempty: true, agg: true},
	{name: "LastSeen", kind: kindString, omitempty: true, agg: true},
}

func aggregateOf(v []fieldValue) secmsg.Aggregate {
	return secmsg.Aggregate{HitCount: v[0].n, FirstSeen: v[1].s, LastSeen: v[2].s}
}

// triggered returns the table of a Triggered type, whose Key joins every
// field but the aggregation fields.
func triggered(build func(v *itemValues) secmsg.Item, fields ...itemField) *itemType {
	t := &itemType{fields: append(fields, aggregateFields...), change: -1, build: build}
	for i := range fields {
		t.keyParts = append(t.keyParts, i)
	}
	return t
}

// periodic returns the table of a Periodic type, whose Key joins the
// fields keyParts.
func periodic(keyParts []int, build func(v *itemValues) secmsg.Item, fields ...itemField) *itemType {
	t := &itemType{fields: append(fields, fStrOmit("Change")), build: build, keyParts: keyParts}
	t.change = len(t.fields) - 1
	return t
}

// itoa marks the Login table: Flatten formats its integers with
// strconv.Itoa.
func itoa(t *itemType) *itemType {
	t.itoa = true
	return t
}

// constKey sets the constant Key of t.
func constKey(t *itemType, key string) *itemType {
	t.keyConst = key
	return t
}

var itemTypes = map[string]*itemType{
	secmsg.NameProcessCreate: triggered(func(v *itemValues) secmsg.Item {
		return secmsg.ProcessCreate{Executable: v[0].s, ProcessID: int(v[1].n), ParentProcessID: int(v[2].n),
			UserID: v[3].n, UserName: v[4].s, CommandLine: v[5].s, Aggregate: aggregateOf(v[6:])}
	}, fStr("Executable"), fInt("ProcessId"), fIntOmit("ParentProcessId"), fInt64("UserId"), fStrOmit("UserName"), fStrOmit("CommandLine")),

	secmsg.NameProcessTerminate: triggered(func(v *itemValues) secmsg.Item {
		return secmsg.ProcessTerminate{Executable: v[0].s, ProcessID: int(v[1].n), ExitStatus: int(v[2].n), Aggregate: aggregateOf(v[3:])}
	}, fStrOmit("Executable"), fInt("ProcessId"), fInt("ExitStatus")),

	secmsg.NameLogin: itoa(triggered(func(v *itemValues) secmsg.Item {
		return secmsg.Login{ProcessID: int(v[0].n), UserName: v[1].s, Operation: v[2].s, Executable: v[3].s,
			RemoteAddress: v[4].s, RemotePort: int(v[5].n), LocalPort: int(v[6].n), Result: v[7].s,
			AuthMethod: v[8].s, InvalidUser: v[9].b, Source: v[10].s, Aggregate: aggregateOf(v[11:])}
	}, fIntOmit("ProcessId"), fStrOmit("UserName"), fStr("Operation"), fStrOmit("Executable"), fStrOmit("RemoteAddress"),
		fIntOmit("RemotePort"), fIntOmit("LocalPort"), fStr("Result"), fStrOmit("AuthMethod"), fBoolOmit("InvalidUser"), fStrOmit("Source"))),

	secmsg.NameConnectionCreate: triggered(func(v *itemValues) secmsg.Item {
		return secmsg.ConnectionCreate{Executable: v[0].s, ProcessID: int(v[1].n), CommandLine: v[2].s, UserID: v[3].n,
			RemoteAddress: v[4].s, RemotePort: int(v[5].n), LocalAddress: v[6].s, LocalPort: int(v[7].n),
			Protocol: v[8].s, Direction: v[9].s, Aggregate: aggregateOf(v[10:])}
	}, fStrOmit("Executable"), fIntOmit("ProcessId"), fStrOmit("CommandLine"), fInt64("UserId"), fStr("RemoteAddress"),
		fInt("RemotePort"), fStrOmit("LocalAddress"), fIntOmit("LocalPort"), fStr("Protocol"), fStr("Direction")),

	secmsg.NameListeningPorts: periodic([]int{0, 1, 2}, func(v *itemValues) secmsg.Item {
		return secmsg.ListeningPort{Protocol: v[0].s, LocalAddress: v[1].s, LocalPort: int(v[2].n), RemoteAddress: v[3].s,
			RemotePort: int(v[4].n), ProcessID: int(v[5].n), Executable: v[6].s, Change: v[7].s}
	}, fStr("Protocol"), fStr("LocalAddress"), fInt("LocalPort"), fStrOmit("RemoteAddress"), fIntOmit("RemotePort"),
		fIntOmit("ProcessId"), fStrOmit("Executable")),

	secmsg.NameFirewallConfiguration: periodic(nil, func(v *itemValues) secmsg.Item {
		return secmsg.FirewallRule{Backend: v[0].s, Family: v[1].s, Table: v[2].s, ChainName: v[3].s, Hook: v[4].s,
			Priority: int(v[5].n), IsDefaultPolicy: v[6].b, Action: v[7].s, Target: v[8].s, Protocol: v[9].s,
			SourceAddress: v[10].s, SourcePort: v[11].s, DestinationAddress: v[12].s, DestinationPort: v[13].s,
			Direction: v[14].s, Enabled: v[15].b, Raw: v[16].s, Change: v[17].s}
	}, fStr("Backend"), fStr("Family"), fStr("Table"), fStr("ChainName"), fStrOmit("Hook"), fIntOmit("Priority"),
		fBoolOmit("IsDefaultPolicy"), fStr("Action"), fStrOmit("Target"), fStrOmit("Protocol"), fStrOmit("SourceAddress"),
		fStrOmit("SourcePort"), fStrOmit("DestinationAddress"), fStrOmit("DestinationPort"), fStrOmit("Direction"),
		fBool("Enabled"), fStrOmit("Raw")),

	secmsg.NameLocalUsers: periodic([]int{0}, func(v *itemValues) secmsg.Item {
		return secmsg.LocalUser{UserName: v[0].s, UserID: v[1].n, GroupID: v[2].n, HomeDirectory: v[3].s, Shell: v[4].s,
			GroupNames: v[5].list, Change: v[6].s}
	}, fStr("UserName"), fInt64("UserId"), fInt64("GroupId"), fStrOmit("HomeDirectory"), fStrOmit("Shell"),
		itemField{name: "GroupNames", kind: kindStrings, omitempty: true}),

	secmsg.NameOSBaseline: periodic([]int{0}, func(v *itemValues) secmsg.Item {
		return secmsg.BaselineCheck{CheckID: v[0].s, Description: v[1].s, Result: v[2].s, Severity: v[3].s, Expected: v[4].s,
			Actual: v[5].s, Error: v[6].s, Remediation: v[7].s, Change: v[8].s}
	}, fStr("CheckId"), fStrOmit("Description"), fStr("Result"), fStr("Severity"), fStrOmit("Expected"), fStrOmit("Actual"),
		fStrOmit("Error"), fStrOmit("Remediation")),

	secmsg.NameSystemInformation: constKey(periodic(nil, func(v *itemValues) secmsg.Item {
		return secmsg.SystemInformation{OSName: v[0].s, OSVersion: v[1].s, KernelVersion: v[2].s, HostName: v[3].s,
			Architecture: v[4].s, Model: v[5].s, TotalPhysicalMemoryInKB: v[6].n, FreePhysicalMemoryInKB: v[7].n,
			BootTime: v[8].s, Change: v[9].s}
	}, fStrOmit("OSName"), fStrOmit("OSVersion"), fStr("KernelVersion"), fStr("HostName"), fStr("Architecture"),
		fStrOmit("Model"), fInt64Omit("TotalPhysicalMemoryInKB"), fInt64Omit("FreePhysicalMemoryInKB"), fStrOmit("BootTime")), secmsg.NameSystemInformation),

	secmsg.NameDiagnostic: triggered(func(v *itemValues) secmsg.Item {
		return secmsg.Diagnostic{Severity: v[0].s, Component: v[1].s, Message: v[2].s, ProcessID: int(v[3].n), Aggregate: aggregateOf(v[4:])}
	}, fStr("Severity"), fStrOmit("Component"), fStr("Message"), fIntOmit("ProcessId")),

	secmsg.NameConfigurationError: triggered(func(v *itemValues) secmsg.Item {
		return secmsg.ConfigurationError{ConfigurationName: v[0].s, ErrorType: v[1].s, UsedConfiguration: v[2].s,
			Message: v[3].s, Aggregate: aggregateOf(v[4:])}
	}, fStr("ConfigurationName"), fStr("ErrorType"), fStrOmit("UsedConfiguration"), fStrOmit("Message")),

	secmsg.NameDroppedEventsStatistics: periodic([]int{0, 1, 3}, func(v *itemValues) secmsg.Item {
		return secmsg.DroppedEvents{Event: v[0].s, Queue: v[1].s, DroppedEvents: v[2].n, Reason: v[3].s, Change: v[4].s}
	}, fStr("EventName"), fStr("Queue"), fInt64("DroppedEvents"), fStrOmit("Reason")),

	secmsg.NameMessageStatistics: constKey(periodic(nil, func(v *itemValues) secmsg.Item {
		return secmsg.MessageStatistics{MessagesSent: v[0].n, MessagesFailed: v[1].n, MessagesRejected: v[2].n,
			EventsSent: v[3].n, BytesSent: v[4].n, Change: v[5].s}
	}, fInt64Omit("MessagesSent"), fInt64Omit("MessagesFailed"), fInt64Omit("MessagesRejected"), fInt64Omit("EventsSent"),
		fInt64Omit("BytesSent")), secmsg.NameMessageStatistics),
}

// common holds the values of secmsg's enumerations (event names, types,
// categories, results, protocols…), so that decoding one of them does not
// allocate a string.
var common = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		secmsg.SchemaVersion, secmsg.TypeSecurity, secmsg.TypeOperational, secmsg.TypeDiagnostic,
		secmsg.CategoryPeriodic, secmsg.CategoryTriggered, secmsg.SnapshotFull, secmsg.SnapshotDiff,
		secmsg.ChangeAdded, secmsg.ChangeRemoved, secmsg.ChangeChanged,
		secmsg.OperationLogin, secmsg.OperationLogout, secmsg.ResultSuccess, secmsg.ResultFail,
		secmsg.AuthPassword, secmsg.AuthPublicKey, secmsg.AuthKeyboardInteractive, secmsg.AuthHostBased,
		secmsg.AuthGSSAPI, secmsg.AuthNone, secmsg.SourceAuthLog, secmsg.SourceAudit,
		secmsg.ProtocolTCP, secmsg.ProtocolTCP6, secmsg.ProtocolUDP, secmsg.ProtocolUDP6,
		secmsg.DirectionIn, secmsg.DirectionOut, secmsg.DirectionForward,
		secmsg.BackendNftables, secmsg.BackendIptables, secmsg.FamilyIP, secmsg.FamilyIP6, secmsg.FamilyInet,
		secmsg.FamilyARP, secmsg.FamilyBridge, secmsg.FamilyNetdev, secmsg.HookPrerouting, secmsg.HookInput,
		secmsg.HookForward, secmsg.HookOutput, secmsg.HookPostrouting, secmsg.HookIngress, secmsg.HookEgress,
		secmsg.ActionAllow, secmsg.ActionDeny, secmsg.ActionReject, secmsg.ActionJump, secmsg.ActionGoto,
		secmsg.ActionReturn, secmsg.ActionLog, secmsg.ActionNAT, secmsg.ActionOther,
		secmsg.CheckPass, secmsg.CheckFail, secmsg.CheckError, secmsg.SeverityCritical, secmsg.SeverityHigh,
		secmsg.SeverityMedium, secmsg.SeverityLow, secmsg.SeverityInformational,
		secmsg.DiagnosticError, secmsg.DiagnosticWarning, secmsg.DiagnosticInformation,
		secmsg.ConfigOutOfBounds, secmsg.ConfigTypeMismatch, secmsg.ConfigConflict, secmsg.ConfigUnknown,
		secmsg.ConfigOther, secmsg.QueueHigh, secmsg.QueueLow, secmsg.AnyEvent,
	} {
		m[s] = s
	}
	for _, s := range secmsg.Names() {
		m[s] = s
	}
	return m
}()

// fastDecoder is the reusable state of the fast decoder: one per
// goroutine at a time, from fastDecoders.
type fastDecoder struct {
	buf     bytes.Buffer // aliases the record's data: jsontext reads it without a copy
	dec     *jsontext.Decoder
	scratch []byte // the unquoted text of a string with escapes
	keyBuf  []byte
	vals    itemValues
	msg     secmsg.Message
	ev      [1]secmsg.Event
	items   []secmsg.Item
	out     []Event
	// The record's own fields that the events carry.
	hub, device string
	received    time.Time
}

var fastDecoders = sync.Pool{New: func() any {
	d := &fastDecoder{}
	d.dec = jsontext.NewDecoder(&d.buf, allowDuplicates)
	return d
}}

// allowDuplicates lets repeated names through the decoder: the fast
// decoder knows the names it accepts and refuses repeated ones itself,
// more cheaply than the decoder's general check.
var allowDuplicates = jsontext.AllowDuplicateNames(true)

// decodeAgentFast decodes an agent record as decodeAgentStrict does, or
// refuses it with an error (see the top of this file).
func decodeAgentFast(r Record) ([]Event, *AgentMessage, error) {
	if len(r.Data) > maxFastRecord {
		return nil, nil, errTooLarge
	}
	d := fastDecoders.Get().(*fastDecoder)
	d.buf = *bytes.NewBuffer(r.Data)
	d.dec.Reset(&d.buf, allowDuplicates)
	d.hub, d.device, d.received = r.Hub, r.Device, r.Time
	evs, am, err := d.record()
	d.release()
	fastDecoders.Put(d)
	return evs, am, err
}

// maxPooledItems bounds the item buffers a pooled decoder keeps: the
// buffers of a rare large snapshot are left to the collector.
const maxPooledItems = 256

// release drops the references to the record and the decoded values, so
// that the pooled decoder keeps neither alive.
func (d *fastDecoder) release() {
	d.buf = bytes.Buffer{}
	d.dec.Reset(&d.buf, allowDuplicates)
	d.hub, d.device = "", ""
	d.vals = itemValues{}
	d.msg = secmsg.Message{}
	d.ev[0] = secmsg.Event{}
	clear(d.items)
	d.items = d.items[:0]
	clear(d.out)
	d.out = d.out[:0]
	if cap(d.out) > maxPooledItems {
		d.items, d.out = nil, nil
	}
}

// record reads the envelope {"deviceId", "hub", "receivedAt", "message"}.
func (d *fastDecoder) record() ([]Event, *AgentMessage, error) {
	if err := d.open('{'); err != nil {
		return nil, nil, err
	}
	var dev string
	msgLen := -1
	var seen uint32
	for d.dec.PeekKind() != '}' {
		i, err := d.field(envelopeFields, &seen)
		if err != nil {
			return nil, nil, err
		}
		switch envelopeFields[i] {
		case "deviceId":
			dev, err = d.str()
		case "hub": // decodeAgentStrict reads it but uses the record's Hub
			_, err = d.rawString()
		case "receivedAt": // unused, but encoding/json refuses what time.Time does
			var raw []byte
			if raw, err = d.rawString(); err == nil {
				var t time.Time
				err = t.UnmarshalJSON(raw) // encoding/json hands it the literal, escapes and all
			}
		case "message":
			msgLen, err = d.message()
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, nil, err
	}
	if _, err := d.dec.ReadToken(); err != io.EOF {
		return nil, nil, errTrailing
	}
	if msgLen < 0 {
		return nil, nil, errShape
	}
	if msgLen > secmsg.MaxMessageSize {
		return nil, nil, errTooLarge
	}
	d.msg.Events = d.ev[:]
	d.ev[0].Payload = d.items
	if err := d.msg.Validate(); err != nil {
		return nil, nil, err
	}
	if dev == "" {
		dev = d.device
	}
	out := make([]Event, len(d.out))
	copy(out, d.out)
	for i := range out {
		out[i].Device = dev
	}
	return out, &AgentMessage{Device: dev, Hub: d.hub, Bytes: msgLen, Events: 1}, nil
}

// message reads the secmsg message and returns its length in bytes.
func (d *fastDecoder) message() (int, error) {
	if err := d.open('{'); err != nil {
		return 0, err
	}
	start := d.dec.InputOffset() - 1
	m := &d.msg
	var seen uint32
	events := false
	for d.dec.PeekKind() != '}' {
		i, err := d.field(messageFields, &seen)
		if err != nil {
			return 0, err
		}
		switch messageFields[i] {
		case "AgentVersion":
			m.AgentVersion, err = d.str()
		case "AgentId":
			m.AgentID, err = d.str()
		case "MessageSchemaVersion":
			m.MessageSchemaVersion, err = d.str()
		case "Events":
			err = d.events()
			events = true
		}
		if err != nil {
			return 0, err
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return 0, err
	}
	if !events {
		return 0, errShape
	}
	return int(d.dec.InputOffset() - start), nil
}

// events reads the Events array, which must hold exactly one event.
func (d *fastDecoder) events() error {
	if err := d.open('['); err != nil {
		return err
	}
	if d.dec.PeekKind() != '{' {
		return errShape
	}
	if err := d.event(); err != nil {
		return err
	}
	if d.dec.PeekKind() != ']' {
		return errShape
	}
	_, err := d.dec.ReadToken()
	return err
}

// event reads the one event, its Payload last.
func (d *fastDecoder) event() error {
	if err := d.open('{'); err != nil {
		return err
	}
	e := &d.ev[0]
	payload := false
	var seen uint32
	for d.dec.PeekKind() != '}' {
		if payload {
			return errShape
		}
		i, err := d.field(eventFields, &seen)
		if err != nil {
			return err
		}
		switch eventFields[i] {
		case "EventType":
			e.EventType, err = d.str()
		case "Category":
			e.Category, err = d.str()
		case "Name":
			e.Name, err = d.str()
		case "IsEmpty":
			e.IsEmpty, err = d.boolean()
		case "PayloadSchemaVersion":
			e.PayloadSchemaVersion, err = d.str()
		case "Id":
			e.ID, err = d.str()
		case "TimestampLocal":
			e.TimestampLocal, err = d.str()
		case "TimestampUTC":
			e.TimestampUTC, err = d.str()
		case "SnapshotMode":
			e.SnapshotMode, err = d.str()
		case "Payload":
			err = d.payload(e)
			payload = true
		}
		if err != nil {
			return err
		}
	}
	if !payload {
		return errShape
	}
	_, err := d.dec.ReadToken()
	return err
}

// payload reads the items of e and turns them into events as
// decodeAgentStrict does (the event's other fields are read).
func (d *fastDecoder) payload(ev *secmsg.Event) error {
	typ := itemTypes[ev.Name]
	if typ == nil {
		return errUnknownEvent
	}
	if err := d.open('['); err != nil {
		return err
	}
	ts, _ := secmsg.ParseTime(ev.TimestampUTC)
	base := Event{Hub: d.hub, Source: SourceAgent, Name: ev.Name, Time: ts, LastTime: ts, Count: 1,
		SnapshotMode: ev.SnapshotMode, Received: d.received}
	if ev.Category == secmsg.CategoryPeriodic && base.SnapshotMode == "" {
		base.SnapshotMode = secmsg.SnapshotFull
	}
	for i := 0; d.dec.PeekKind() != ']'; i++ {
		if i == secmsg.MaxItems {
			return errShape
		}
		it, err := d.item(typ)
		if err != nil {
			return err
		}
		d.items = append(d.items, it)
		e := base
		e.ID = ev.ID + "/" + strconv.Itoa(i)
		e.Fields, e.Change = typ.flatten(&d.vals)
		e.ItemKey = d.key(typ, it)
		e.aggregate(it)
		d.out = append(d.out, e)
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return err
	}
	if len(d.items) == 0 {
		e := base
		e.ID = ev.ID + "/0"
		e.Fields = map[string]string{}
		d.out = append(d.out, e)
	}
	return nil
}

// item reads one payload item of type typ into d.vals and returns it
// typed.
func (d *fastDecoder) item(typ *itemType) (secmsg.Item, error) {
	if err := d.open('{'); err != nil {
		return nil, err
	}
	clear(d.vals[:len(typ.fields)])
	var seen uint32
	for d.dec.PeekKind() != '}' {
		name, err := d.name()
		if err != nil {
			return nil, err
		}
		i := typ.index(name)
		if i < 0 {
			return nil, errField
		}
		if err := once(&seen, i); err != nil {
			return nil, err
		}
		v := &d.vals[i]
		switch typ.fields[i].kind {
		case kindString:
			v.s, err = d.str()
		case kindInt:
			v.n, err = d.integer(strconv.IntSize)
		case kindInt64:
			v.n, err = d.integer(64)
		case kindBool:
			v.b, err = d.boolean()
		case kindStrings:
			v.list, err = d.stringList()
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, err
	}
	return typ.build(&d.vals), nil
}

// open reads the delimiter '{' or '[', refusing any other value.
func (d *fastDecoder) open(delim jsontext.Kind) error {
	if d.dec.PeekKind() != delim {
		return errKind
	}
	_, err := d.dec.ReadToken()
	return err
}

// name reads an object's field name, unquoted. It is valid until the next
// read.
func (d *fastDecoder) name() ([]byte, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	return d.unquote(v)
}

// Fields of the envelope, the message and the event.
var (
	envelopeFields = []string{"deviceId", "hub", "receivedAt", "message"}
	messageFields  = []string{"AgentVersion", "AgentId", "MessageSchemaVersion", "Events"}
	eventFields    = []string{"EventType", "Category", "Name", "IsEmpty", "PayloadSchemaVersion", "Id",
		"TimestampLocal", "TimestampUTC", "SnapshotMode", "Payload"}
)

// field reads a field name, one of names, and returns its index. It
// refuses other names and a name in seen, the fields of the object read
// before.
func (d *fastDecoder) field(names []string, seen *uint32) (int, error) {
	name, err := d.name()
	if err != nil {
		return 0, err
	}
	for i, n := range names {
		if n == string(name) {
			return i, once(seen, i)
		}
	}
	return 0, errField
}

// once marks field i seen, refusing a field seen before: encoding/json
// keeps the last of repeated fields (the decoder lets them through, to
// check them more cheaply here).
func once(seen *uint32, i int) error {
	if *seen&(1<<i) != 0 {
		return errRepeated
	}
	*seen |= 1 << i
	return nil
}

// unquote returns the text of the JSON string v, which jsontext has
// checked: v itself without its quotes unless it holds escapes.
func (d *fastDecoder) unquote(v jsontext.Value) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' {
		return nil, errKind
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	var err error
	d.scratch, err = jsontext.AppendUnquote(d.scratch[:0], v)
	return d.scratch, err
}

// rawString reads a string value and returns its JSON literal, valid until
// the next read.
func (d *fastDecoder) rawString() ([]byte, error) {
	if d.dec.PeekKind() != '"' {
		return nil, errKind
	}
	return d.dec.ReadValue()
}

// str reads a string value.
func (d *fastDecoder) str() (string, error) {
	v, err := d.rawString()
	if err != nil {
		return "", err
	}
	b, err := d.unquote(v)
	if err != nil {
		return "", err
	}
	if s, ok := common[string(b)]; ok {
		return s, nil
	}
	return string(b), nil
}

// integer reads a number as encoding/json decodes it into an integer of
// the size bits: strconv.ParseInt of its literal (so 1.0 and 1e3 are
// refused).
func (d *fastDecoder) integer(bits int) (int64, error) {
	if d.dec.PeekKind() != '0' {
		return 0, errKind
	}
	v, err := d.dec.ReadValue()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(v), 10, bits)
}

func (d *fastDecoder) boolean() (bool, error) {
	switch d.dec.PeekKind() {
	case 't', 'f':
	default:
		return false, errKind
	}
	tok, err := d.dec.ReadToken()
	if err != nil {
		return false, err
	}
	return tok.Bool(), nil
}

// stringList reads a list of strings; an empty list is nil.
func (d *fastDecoder) stringList() ([]string, error) {
	if err := d.open('['); err != nil {
		return nil, err
	}
	var list []string
	for d.dec.PeekKind() != ']' {
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	_, err := d.dec.ReadToken()
	return list, err
}
