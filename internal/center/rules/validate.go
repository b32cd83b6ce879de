package rules

import (
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/moatsec/moat/internal/center"
)

var (
	idPattern        = regexp.MustCompile(`^[a-z0-9-]+$`)
	techniquePattern = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

// MaxIDLen bounds a rule id.
const MaxIDLen = 100

var commonFields = []string{"id", "title", "description", "severity", "technique", "remediation", "enabled", "kind", "maxAlertsPerMinute"}

var kindFields = map[Kind][]string{
	KindThreshold: {"match", "groupBy", "window", "threshold"},
	KindMatch:     {"match", "groupBy"},
	KindNewValue:  {"match", "value", "split", "changes"},
	KindSequence:  {"steps", "by", "within"},
	KindAbsence:   {"absence", "for", "match"},
}

var severities = []string{center.SeverityHigh, center.SeverityMedium, center.SeverityLow, center.SeverityInformational}

// validate checks a parsed rule and fills its defaults.
func (p *parser) validate(r *Rule, root *yaml.Node, present map[string]*yaml.Node) {
	line := func(field string) int {
		if k := present[field]; k != nil {
			return k.Line
		}
		return root.Line
	}
	keys := make([]string, 0, len(present))
	for i := 0; i < len(root.Content); i += 2 {
		if _, ok := present[root.Content[i].Value]; ok {
			keys = append(keys, root.Content[i].Value)
		}
	}
	switch {
	case r.ID == "":
		p.errAt(root.Line, "id", "required")
	case len(r.ID) > MaxIDLen || !idPattern.MatchString(r.ID):
		p.errAt(line("id"), "id", "%q: want lower-case letters, digits and '-' (at most %d)", clip(r.ID), MaxIDLen)
	}
	if r.Kind == "" && !r.Enabled {
		// A stub: "id: x, enabled: false" disables the built-in rule x.
		for _, k := range keys {
			if !in(k, []string{"id", "enabled", "title", "description"}) {
				p.errAt(line(k), k, "a rule without kind only disables a built-in rule; give its kind to define one")
			}
		}
		return
	}
	if r.Kind == "" {
		p.errAt(root.Line, "kind", "required (threshold, sequence, newvalue, match or absence)")
		return
	}
	allowed, ok := kindFields[r.Kind]
	if !ok {
		p.errAt(line("kind"), "kind", "unknown kind %q (want threshold, sequence, newvalue, match or absence)", clip(string(r.Kind)))
		return
	}
	for _, k := range keys {
		if !in(k, commonFields) && !in(k, allowed) {
			p.errAt(line(k), k, "not a field of %s rules", r.Kind)
		}
	}
	if r.Title == "" {
		r.Title = r.ID
	}
	switch {
	case r.Severity == "":
		p.errAt(root.Line, "severity", "required (High, Medium, Low or Informational)")
	case !in(r.Severity, severities):
		p.errAt(line("severity"), "severity", "unknown severity %q (want High, Medium, Low or Informational)", clip(r.Severity))
	}
	if r.Technique != "" && !techniquePattern.MatchString(r.Technique) {
		p.errAt(line("technique"), "technique", "%q is not a MITRE ATT&CK technique id (want T#### or T####.###)", clip(r.Technique))
	}
	if present["maxAlertsPerMinute"] == nil {
		r.MaxAlertsPerMinute = DefaultMaxAlertsPerMinute
	} else if r.MaxAlertsPerMinute < 1 || r.MaxAlertsPerMinute > MaxMaxAlertsPerMinute {
		p.errAt(line("maxAlertsPerMinute"), "maxAlertsPerMinute", "want 1 to %d", MaxMaxAlertsPerMinute)
	}
	required := func(field string, missing bool) bool {
		if missing {
			p.errAt(root.Line, field, "required for %s rules", r.Kind)
		}
		return !missing
	}
	var names []string
	if r.Match != nil {
		names, _ = r.Match.Names()
	}
	switch r.Kind {
	case KindThreshold:
		required("match", r.Match == nil)
		if required("window", present["window"] == nil) {
			p.maxDuration(r.Window, MaxWindow, line("window"), "window")
		}
		if required("threshold", present["threshold"] == nil) && (r.Threshold < 1 || r.Threshold > MaxThreshold) {
			p.errAt(line("threshold"), "threshold", "want 1 to %d", MaxThreshold)
		}
		p.fieldList(r.GroupBy, names, line("groupBy"), "groupBy")
	case KindMatch:
		required("match", r.Match == nil)
		p.fieldList(r.GroupBy, names, line("groupBy"), "groupBy")
	case KindNewValue:
		required("match", r.Match == nil)
		if required("value", r.Value == nil) {
			p.fieldList(r.Value, names, line("value"), "value")
		}
		if r.Split != nil {
			switch {
			case r.Split.Field == "":
				p.errAt(line("split"), "split.field", "required")
			case !in(r.Split.Field, r.Value):
				p.errAt(line("split"), "split.field", "%q is not one of the value fields", clip(r.Split.Field))
			}
		}
		if r.Changes == nil {
			r.Changes = []string{"Added"}
		}
		for _, c := range r.Changes {
			if c != "Added" && c != "Changed" {
				p.errAt(line("changes"), "changes", "%q: want Added or Changed (Removed items are never new)", clip(c))
			}
		}
	case KindSequence:
		if required("steps", r.Steps == nil) {
			if len(r.Steps) < 2 || len(r.Steps) > MaxSteps {
				p.errAt(line("steps"), "steps", "want 2 to %d steps", MaxSteps)
			}
			for i, st := range r.Steps {
				sp := "steps[" + itoa(i) + "]"
				switch {
				case (st.Rule == "") == (st.Match == nil):
					p.errAt(st.Line, sp, "want exactly one of rule and match")
				case st.Rule != "" && !idPattern.MatchString(st.Rule):
					p.errAt(st.Line, sp+".rule", "%q is not a rule id", clip(st.Rule))
				case st.Rule == r.ID:
					p.errAt(st.Line, sp+".rule", "a sequence cannot follow its own detections")
				}
			}
		}
		if required("within", present["within"] == nil) {
			p.maxDuration(r.Within, MaxWindow, line("within"), "within")
		}
		if r.By == nil {
			r.By = []string{"device"}
		}
		p.fieldList(r.By, nil, line("by"), "by")
	case KindAbsence:
		if required("absence", r.Absence == "") && r.Absence != AbsenceSilent && r.Absence != AbsenceNever {
			p.errAt(line("absence"), "absence", "%q: want silent or never", clip(r.Absence))
		}
		if present["for"] == nil {
			r.For = DefaultAbsenceFor
		} else {
			p.maxDuration(r.For, MaxAbsenceFor, line("for"), "for")
		}
		if r.Match == nil {
			r.Match = &Filter{Source: []string{center.SourceAgent}}
		}
	}
}

func (p *parser) maxDuration(d, limit time.Duration, line int, field string) {
	if d > limit {
		p.errAt(line, field, "%s is longer than %s", d, limit)
	}
}

// fieldList checks the names of fields used for keys.
func (p *parser) fieldList(fields, names []string, line int, path string) {
	if len(fields) > MaxGroupFields {
		p.errAt(line, path, "more than %d fields", MaxGroupFields)
		return
	}
	for i, f := range fields {
		if !p.cat.knownField(f, names) {
			p.errAt(line, path, "%q: unknown field of %s events", clip(f), eventsWord(names))
		}
		if in(f, fields[:i]) {
			p.errAt(line, path, "%q given twice", clip(f))
		}
	}
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func itoa(i int) string { return strconv.Itoa(i) }
