package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits of rule files.
const (
	MaxFileSize     = 1 << 20 // bytes of one file
	MaxDocuments    = 1000    // rules of one file
	MaxStringLen    = 4096    // bytes of a string value
	MaxListLen      = 256     // values of a list
	MaxFilterDepth  = 4       // nesting of "any"
	MaxRegexLen     = 1024    // bytes of a regular expression
	maxFieldNameLen = 128
)

// Parse reads the rules of one file (one rule per YAML document, documents
// separated by "---") and validates each on its own. Checks that need the
// whole set (duplicates across files, references of sequence steps) are
// NewSet's. The error, an ErrorList, lists every problem with the file
// name, line and field.
func Parse(file string, data []byte) ([]*Rule, error) {
	p := &parser{file: file, cat: newCatalog()}
	if len(data) > MaxFileSize {
		p.errs = append(p.errs, &Error{File: file, Field: "file", Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)})
		return nil, p.errs
	}
	if !utf8.Valid(data) {
		p.errs = append(p.errs, &Error{File: file, Field: "file", Msg: "not UTF-8"})
		return nil, p.errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*Rule
	first := map[string]int{}
	for n := 0; len(p.errs) < maxErrors; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.yamlError(err)
			break
		}
		if n >= MaxDocuments {
			p.errf(&doc, "file", "more than %d rules", MaxDocuments)
			break
		}
		r := p.document(&doc)
		if r == nil {
			continue
		}
		if line, dup := first[r.ID]; dup {
			p.errAt(r.Origin.Line, "id", "duplicate id %q (first at line %d)", r.ID, line)
			continue
		}
		first[r.ID] = r.Origin.Line
		out = append(out, r)
	}
	if len(p.errs) > 0 {
		if len(p.errs) > maxErrors {
			p.errs = p.errs[:maxErrors]
		}
		return nil, p.errs
	}
	return out, nil
}

type parser struct {
	file string
	cat  *catalog
	errs ErrorList
}

func (p *parser) errAt(line int, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) errf(n *yaml.Node, field, format string, args ...any) {
	p.errAt(n.Line, field, format, args...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError reports a YAML syntax error at its line when it says one.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errAt(line, "yaml", "%s", m[2])
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Field: "yaml", Msg: strings.TrimPrefix(msg, "yaml: ")})
}

// document reads one rule; nil for an empty document or on error.
func (p *parser) document(doc *yaml.Node) *Rule {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // a document holding only comments
	}
	if root.Kind != yaml.MappingNode {
		p.errf(root, "rule", "a rule is a mapping of fields")
		return nil
	}
	before := len(p.errs)
	r := &Rule{Enabled: true, Origin: Origin{File: p.file, Line: root.Line}}
	present := map[string]*yaml.Node{}
	p.mapping(root, "", func(key string, k, v *yaml.Node) {
		present[key] = k
		switch key {
		case "id":
			r.ID, _ = p.str(v, key)
		case "title":
			r.Title, _ = p.str(v, key)
		case "description":
			r.Description, _ = p.str(v, key)
		case "severity":
			r.Severity, _ = p.str(v, key)
		case "technique":
			r.Technique, _ = p.str(v, key)
		case "remediation":
			r.Remediation, _ = p.str(v, key)
		case "enabled":
			r.Enabled, _ = p.boolean(v, key)
		case "kind":
			s, _ := p.str(v, key)
			r.Kind = Kind(s)
		case "match":
			r.Match = p.filter(v, key, nil, 0)
		case "maxAlertsPerMinute":
			n, _ := p.integer(v, key)
			r.MaxAlertsPerMinute = int(min(max(n, -1), MaxMaxAlertsPerMinute+1))
		case "groupBy":
			r.GroupBy, _ = p.strList(v, key)
		case "window":
			r.Window = p.duration(v, key)
		case "threshold":
			r.Threshold, _ = p.integer(v, key)
		case "steps":
			r.Steps = p.steps(v, key)
		case "by":
			r.By, _ = p.strList(v, key)
		case "within":
			r.Within = p.duration(v, key)
		case "value":
			r.Value, _ = p.strList(v, key)
		case "split":
			r.Split = p.split(v, key)
		case "changes":
			r.Changes, _ = p.strList(v, key)
		case "absence":
			r.Absence, _ = p.str(v, key)
		case "for":
			r.For = p.duration(v, key)
		default:
			p.errf(k, key, "unknown field")
		}
	})
	if len(p.errs) > before {
		return nil
	}
	p.validate(r, root, present)
	if len(p.errs) > before {
		return nil
	}
	return r
}

// mapping calls fn for each key of the mapping n, refusing non-string and
// repeated keys and aliases.
func (p *parser) mapping(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		p.errf(n, orRule(path), "want a mapping")
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || len(k.Value) > maxFieldNameLen {
			p.errf(k, orRule(path), "keys are names of fields")
			continue
		}
		name := join(path, k.Value)
		if seen[k.Value] {
			p.errf(k, name, "given twice")
			continue
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			p.errf(v, name, "aliases (*name) are not supported")
			continue
		}
		fn(k.Value, k, v)
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRule(path string) string {
	if path == "" {
		return "rule"
	}
	return path
}

// scalar returns the normalized text of a scalar: booleans in lower case,
// integers in decimal.
func (p *parser) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind == yaml.AliasNode {
		p.errf(n, path, "aliases (*name) are not supported")
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.errf(n, path, "want a single value")
		return "", false
	}
	switch n.Tag {
	case "!!null":
		p.errf(n, path, "empty value")
		return "", false
	case "!!bool":
		return strings.ToLower(n.Value), true
	case "!!int":
		if v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return strconv.FormatInt(v, 10), true
		}
	}
	if len(n.Value) > MaxStringLen {
		p.errf(n, path, "longer than %d bytes", MaxStringLen)
		return "", false
	}
	return n.Value, true
}

func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	return p.scalar(n, path)
}

// strList reads a value or a list of values.
func (p *parser) strList(n *yaml.Node, path string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := p.scalar(n, path)
		if !ok {
			return nil, false
		}
		return []string{s}, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, path, "want a value or a list of values")
		return nil, false
	}
	if len(n.Content) == 0 {
		p.errf(n, path, "empty list")
		return nil, false
	}
	if len(n.Content) > MaxListLen {
		p.errf(n, path, "more than %d values", MaxListLen)
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for i, c := range n.Content {
		s, good := p.scalar(c, fmt.Sprintf("%s[%d]", path, i))
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errf(n, path, "want true or false")
		return false, false
	}
	return strings.EqualFold(n.Value, "true"), true
}

func (p *parser) integer(n *yaml.Node, path string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errf(n, path, "want an integer")
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		p.errf(n, path, "want an integer: %q is out of range", n.Value)
		return 0, false
	}
	return v, true
}

// duration reads a Go duration ("90s", "10m", "1h30m") or a number of
// days ("7d"); it must be positive.
func (p *parser) duration(n *yaml.Node, path string) time.Duration {
	s, ok := p.scalar(n, path)
	if !ok {
		return -1
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.errf(n, path, "%v", err)
		return -1
	}
	return d
}

func (p *parser) steps(n *yaml.Node, path string) []Step {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, path, "want a list of steps")
		return nil
	}
	var out []Step
	for i, c := range n.Content {
		sp := fmt.Sprintf("%s[%d]", path, i)
		st := Step{Line: c.Line}
		p.mapping(c, sp, func(key string, k, v *yaml.Node) {
			switch key {
			case "rule":
				st.Rule, _ = p.str(v, join(sp, key))
			case "match":
				st.Match = p.filter(v, join(sp, key), nil, 0)
			default:
				p.errf(k, join(sp, key), "unknown field (a step has rule or match)")
			}
		})
		out = append(out, st)
	}
	return out
}

func (p *parser) split(n *yaml.Node, path string) *Split {
	s := &Split{}
	p.mapping(n, path, func(key string, k, v *yaml.Node) {
		switch key {
		case "field":
			s.Field, _ = p.str(v, join(path, key))
		case "keep":
			s.Keep, _ = p.strList(v, join(path, key))
		default:
			p.errf(k, join(path, key), "unknown field")
		}
	})
	return s
}

// filter reads a filter; names are the event names its parent restricts
// to, for checking field names.
func (p *parser) filter(n *yaml.Node, path string, names []string, depth int) *Filter {
	f := &Filter{}
	if n.Kind == yaml.MappingNode && len(n.Content) == 0 {
		return f
	}
	var fieldsNode, anyNode *yaml.Node
	p.mapping(n, path, func(key string, k, v *yaml.Node) {
		fp := join(path, key)
		switch key {
		case "source":
			f.Source, _ = p.strList(v, fp)
			for _, s := range f.Source {
				if !in(s, sources) {
					p.errf(v, fp, "unknown source %q (want one of %s)", s, strings.Join(sources, ", "))
				}
			}
		case "name":
			f.Name, _ = p.strList(v, fp)
			for _, s := range f.Name {
				if !p.cat.knownName(s) {
					p.errf(v, fp, "unknown event name %q (want one of %s)", s, strings.Join(p.cat.names(), ", "))
				}
			}
		case "snapshot":
			f.Snapshot, _ = p.str(v, fp)
			if f.Snapshot != "Full" && f.Snapshot != "Diff" {
				p.errf(v, fp, "want Full or Diff, not %q", f.Snapshot)
			}
		case "change":
			f.Change, _ = p.strList(v, fp)
			for _, s := range f.Change {
				if !in(s, changes) {
					p.errf(v, fp, "unknown change %q (want Added, Removed or Changed)", s)
				}
			}
		case "empty":
			b, ok := p.boolean(v, fp)
			if ok {
				f.Empty = &b
			}
		case "fields":
			fieldsNode = v
		case "any":
			anyNode = v
		default:
			p.errf(k, fp, "unknown field (a filter has source, name, snapshot, change, empty, fields, any)")
		}
	})
	if len(f.Name) > 0 {
		names = f.Name
	}
	if fieldsNode != nil {
		f.Fields = p.fieldConds(fieldsNode, join(path, "fields"), names)
	}
	if anyNode != nil {
		ap := join(path, "any")
		switch {
		case depth+1 >= MaxFilterDepth:
			p.errf(anyNode, ap, "filters nested deeper than %d", MaxFilterDepth)
		case anyNode.Kind != yaml.SequenceNode || len(anyNode.Content) == 0:
			p.errf(anyNode, ap, "want a non-empty list of filters")
		case len(anyNode.Content) > MaxListLen:
			p.errf(anyNode, ap, "more than %d filters", MaxListLen)
		default:
			for i, c := range anyNode.Content {
				f.Any = append(f.Any, p.filter(c, fmt.Sprintf("%s[%d]", ap, i), names, depth+1))
			}
		}
	}
	return f
}

var changes = []string{"Added", "Removed", "Changed"}

// fieldConds reads the conditions on fields: {Field: value | [values] |
// {operator: …}}.
func (p *parser) fieldConds(n *yaml.Node, path string, names []string) []FieldCond {
	var out []FieldCond
	p.mapping(n, path, func(field string, k, v *yaml.Node) {
		fp := join(path, field)
		if !p.cat.knownField(field, names) {
			p.errf(k, fp, "unknown field of %s events (known: %s)", eventsWord(names), strings.Join(p.cat.fieldsOf(names), ", "))
			return
		}
		c := FieldCond{Field: field}
		switch v.Kind {
		case yaml.ScalarNode, yaml.SequenceNode:
			c.Equal, _ = p.strList(v, fp)
		case yaml.MappingNode:
			p.operators(&c, v, fp)
		default:
			p.errf(v, fp, "want a value, a list of values or operators")
		}
		out = append(out, c)
	})
	return out
}

func eventsWord(names []string) string {
	if len(names) == 0 {
		return "all"
	}
	return strings.Join(names, "/")
}

func (p *parser) operators(c *FieldCond, n *yaml.Node, path string) {
	if len(n.Content) == 0 {
		p.errf(n, path, "no operator (want eq, in, not, prefix, suffix, contains, regex, exists, anyItem, basename)")
		return
	}
	p.mapping(n, path, func(op string, k, v *yaml.Node) {
		op2 := join(path, op)
		switch op {
		case "eq", "in":
			vals, _ := p.strList(v, op2)
			c.Equal = append(c.Equal, vals...)
		case "not":
			c.Not, _ = p.strList(v, op2)
		case "prefix":
			c.Prefix, _ = p.strList(v, op2)
		case "suffix":
			c.Suffix, _ = p.strList(v, op2)
		case "contains":
			c.Contains, _ = p.strList(v, op2)
		case "anyItem":
			c.AnyItem, _ = p.strList(v, op2)
		case "basename":
			c.Basename, _ = p.strList(v, op2)
		case "exists":
			if b, ok := p.boolean(v, op2); ok {
				c.Exists = &b
			}
		case "regex":
			s, ok := p.str(v, op2)
			if !ok {
				return
			}
			if len(s) > MaxRegexLen {
				p.errf(v, op2, "longer than %d bytes", MaxRegexLen)
				return
			}
			re, err := regexp.Compile(s)
			if err != nil {
				p.errf(v, op2, "bad regular expression: %v", err)
				return
			}
			c.Regex, c.re = s, re
		default:
			p.errf(k, op2, "unknown operator (want eq, in, not, prefix, suffix, contains, regex, exists, anyItem, basename)")
		}
	})
}
