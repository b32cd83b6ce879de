package rules

import (
	"reflect"
	"sort"
	"strings"

	"github.com/moatsec/moat/internal/center"
	"github.com/moatsec/moat/secmsg"
)

// Pseudo-fields every event has (center.Event.Field).
var pseudoFields = []string{"device", "hub", "source", "name", "change"}

// Sources of events.
var sources = []string{center.SourceAgent, center.SourceDiscovery, center.SourceHub}

// catalog knows the event names and the fields of each: the secmsg payload
// types' JSON names, and the fields of the center's own events.
type catalog struct {
	fields map[string]map[string]bool // event name → field names
}

func newCatalog() *catalog {
	c := &catalog{fields: map[string]map[string]bool{}}
	for name, item := range map[string]secmsg.Item{
		secmsg.NameProcessCreate:           secmsg.ProcessCreate{},
		secmsg.NameProcessTerminate:        secmsg.ProcessTerminate{},
		secmsg.NameLogin:                   secmsg.Login{},
		secmsg.NameConnectionCreate:        secmsg.ConnectionCreate{},
		secmsg.NameListeningPorts:          secmsg.ListeningPort{},
		secmsg.NameFirewallConfiguration:   secmsg.FirewallRule{},
		secmsg.NameLocalUsers:              secmsg.LocalUser{},
		secmsg.NameOSBaseline:              secmsg.BaselineCheck{},
		secmsg.NameSystemInformation:       secmsg.SystemInformation{},
		secmsg.NameDiagnostic:              secmsg.Diagnostic{},
		secmsg.NameConfigurationError:      secmsg.ConfigurationError{},
		secmsg.NameDroppedEventsStatistics: secmsg.DroppedEvents{},
		secmsg.NameMessageStatistics:       secmsg.MessageStatistics{},
	} {
		c.fields[name] = jsonFields(reflect.TypeOf(item), map[string]bool{})
	}
	// The center's events (center.NameTokenDecision, center.NameAuthFailure).
	c.fields[center.NameTokenDecision] = set("result", "sourceAddress", "proof", "message", "lat", "lon")
	c.fields[center.NameAuthFailure] = set("reason", "publisher", "sourceAddress")
	return c
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// jsonFields adds the JSON names of t's fields (embedded structs
// flattened) to m.
func jsonFields(t reflect.Type, m map[string]bool) map[string]bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			jsonFields(f.Type, m)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	return m
}

func (c *catalog) knownName(n string) bool {
	_, ok := c.fields[n]
	return ok
}

// knownField reports whether field exists in one of the events named
// names (any event when names is empty).
func (c *catalog) knownField(field string, names []string) bool {
	if in(field, pseudoFields) {
		return true
	}
	if len(names) == 0 {
		for _, fs := range c.fields {
			if fs[field] {
				return true
			}
		}
		return false
	}
	for _, n := range names {
		if c.fields[n][field] {
			return true
		}
	}
	return false
}

// names returns the sorted event names.
func (c *catalog) names() []string {
	out := make([]string, 0, len(c.fields))
	for n := range c.fields {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// fieldsOf returns the sorted fields of names (of every event when empty).
func (c *catalog) fieldsOf(names []string) []string {
	m := map[string]bool{}
	for n, fs := range c.fields {
		if len(names) > 0 && !in(n, names) {
			continue
		}
		for f := range fs {
			m[f] = true
		}
	}
	out := make([]string, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
