package rules

import (
	"regexp"
	"strings"

	"github.com/moatsec/moat/internal/center"
)

// Filter selects events. Every condition set must hold (and); a list holds
// alternatives (or). Any holds sub-filters of which one must hold.
type Filter struct {
	Source   []string    `json:"source,omitempty"`   // center.SourceAgent …
	Name     []string    `json:"name,omitempty"`     // event names
	Snapshot string      `json:"snapshot,omitempty"` // "Full" or "Diff"
	Change   []string    `json:"change,omitempty"`   // Diff items: Added, Removed, Changed
	Empty    *bool       `json:"empty,omitempty"`    // the event has no fields (an empty Full snapshot)
	Fields   []FieldCond `json:"fields,omitempty"`   // in file order
	Any      []*Filter   `json:"any,omitempty"`
}

// FieldCond is a condition on one field (or pseudo-field: device, hub,
// source, name, change). An absent field reads as "". Every operator set
// must hold; the values of one operator are alternatives.
type FieldCond struct {
	Field    string   `json:"field"`
	Equal    []string `json:"equal,omitempty"` // value, [values] or {in: [...]}
	Not      []string `json:"not,omitempty"`   // none of these
	Prefix   []string `json:"prefix,omitempty"`
	Suffix   []string `json:"suffix,omitempty"`
	Contains []string `json:"contains,omitempty"`
	Regex    string   `json:"regex,omitempty"` // RE2 syntax, unanchored
	// Exists: the field is present and not empty (true), or absent or
	// empty (false).
	Exists *bool `json:"exists,omitempty"`
	// AnyItem: the field is a comma-separated list (GroupNames) holding
	// one of these items.
	AnyItem []string `json:"anyItem,omitempty"`
	// Basename: the last element of the path in the field is one of these.
	Basename []string `json:"basename,omitempty"`

	re *regexp.Regexp
}

// Match reports whether e passes the filter. A nil filter passes every
// event.
func (f *Filter) Match(e *center.Event) bool {
	if f == nil {
		return true
	}
	if len(f.Name) > 0 && !in(e.Name, f.Name) {
		return false
	}
	if len(f.Source) > 0 && !in(e.Source, f.Source) {
		return false
	}
	if f.Snapshot != "" && e.SnapshotMode != f.Snapshot {
		return false
	}
	if len(f.Change) > 0 && !in(e.Change, f.Change) {
		return false
	}
	if f.Empty != nil && (len(e.Fields) == 0) != *f.Empty {
		return false
	}
	for i := range f.Fields {
		if !f.Fields[i].Match(e.Field(f.Fields[i].Field)) {
			return false
		}
	}
	if len(f.Any) > 0 {
		for _, s := range f.Any {
			if s.Match(e) {
				return true
			}
		}
		return false
	}
	return true
}

// Names returns the event names the filter can match, and false when it
// can match events of any name.
func (f *Filter) Names() ([]string, bool) {
	if f == nil {
		return nil, false
	}
	if len(f.Name) > 0 {
		return f.Name, true
	}
	if len(f.Any) == 0 {
		return nil, false
	}
	var out []string
	for _, s := range f.Any {
		n, ok := s.Names()
		if !ok {
			return nil, false
		}
		for _, x := range n {
			if !in(x, out) {
				out = append(out, x)
			}
		}
	}
	return out, true
}

// Match reports whether the value v passes the condition.
func (c *FieldCond) Match(v string) bool {
	if c.Exists != nil && (v != "") != *c.Exists {
		return false
	}
	if len(c.Equal) > 0 && !in(v, c.Equal) {
		return false
	}
	if len(c.Not) > 0 && in(v, c.Not) {
		return false
	}
	if len(c.Prefix) > 0 && !anyOf(v, c.Prefix, strings.HasPrefix) {
		return false
	}
	if len(c.Suffix) > 0 && !anyOf(v, c.Suffix, strings.HasSuffix) {
		return false
	}
	if len(c.Contains) > 0 && !anyOf(v, c.Contains, strings.Contains) {
		return false
	}
	if len(c.Basename) > 0 {
		b := v
		if i := strings.LastIndexByte(v, '/'); i >= 0 {
			b = v[i+1:]
		}
		if !in(b, c.Basename) {
			return false
		}
	}
	if len(c.AnyItem) > 0 && !anyItem(v, c.AnyItem) {
		return false
	}
	if c.re != nil && !c.re.MatchString(v) {
		return false
	}
	return true
}

func in(v string, list []string) bool {
	for _, x := range list {
		if v == x {
			return true
		}
	}
	return false
}

func anyOf(v string, list []string, f func(s, x string) bool) bool {
	for _, x := range list {
		if f(v, x) {
			return true
		}
	}
	return false
}

// anyItem reports whether the comma-separated list v holds one of items.
func anyItem(v string, items []string) bool {
	for v != "" {
		item := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		if in(strings.TrimSpace(item), items) {
			return true
		}
	}
	return false
}

// SplitItems calls fn with each item of the comma-separated list v that is
// in keep (every item when keep is empty), spaces trimmed, empty items
// skipped.
func SplitItems(v string, keep []string, fn func(item string)) {
	for v != "" {
		item := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		item = strings.TrimSpace(item)
		if item != "" && (len(keep) == 0 || in(item, keep)) {
			fn(item)
		}
	}
}
