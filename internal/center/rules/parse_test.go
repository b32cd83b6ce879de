package rules

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const okThreshold = `id: x
severity: High
kind: threshold
match: {name: Login, fields: {Result: Fail}}
groupBy: [device, RemoteAddress]
window: 10m
threshold: 5
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // every error, "LINE: field: message start"
	}{
		{"unknown kind", "id: x\nseverity: High\nkind: thresold\n", []string{`3: kind: unknown kind "thresold"`}},
		{"missing kind", "id: x\nseverity: High\n", []string{`1: kind: required`}},
		{"missing threshold", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\nwindow: 10m\n", []string{`1: threshold: required for threshold rules`}},
		{"threshold zero", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\nwindow: 10m\nthreshold: 0\n", []string{`6: threshold: want 1 to`}},
		{"threshold not a number", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\nwindow: 10m\nthreshold: five\n", []string{`6: threshold: want an integer`}},
		{"missing window", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\nthreshold: 5\n", []string{`1: window: required`}},
		{"bad duration", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\nwindow: 10 minutes\nthreshold: 5\n", []string{`5: window: bad duration "10 minutes"`}},
		{"negative duration", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\nwindow: -5m\nthreshold: 5\n", []string{`5: window: duration "-5m" is not positive`}},
		{"window too long", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\nwindow: 2d\nthreshold: 5\n", []string{`5: window: 48h0m0s is longer than 24h0m0s`}},
		{"bad regex", "id: x\nseverity: High\nkind: match\nmatch:\n  name: Diagnostic\n  fields:\n    Message: {regex: 'a(b'}\n", []string{`7: match.fields.Message.regex: bad regular expression`}},
		{"unknown rule field", "id: x\nseverity: High\nkind: match\nmatch: {name: Login}\nwindoww: 5m\n", []string{`5: windoww: unknown field`}},
		{"field of another kind", "id: x\nseverity: High\nkind: match\nmatch: {name: Login}\nwindow: 5m\n", []string{`5: window: not a field of match rules`}},
		{"unknown event field", "id: x\nseverity: High\nkind: match\nmatch:\n  name: Login\n  fields:\n    RemoteAdress: 1.2.3.4\n", []string{`7: match.fields.RemoteAdress: unknown field of Login events`}},
		{"unknown event name", "id: x\nseverity: High\nkind: match\nmatch: {name: Logon}\n", []string{`4: match.name: unknown event name "Logon"`}},
		{"unknown operator", "id: x\nseverity: High\nkind: match\nmatch:\n  name: Login\n  fields:\n    UserName: {startsWith: ro}\n", []string{`7: match.fields.UserName.startsWith: unknown operator`}},
		{"unknown filter key", "id: x\nseverity: High\nkind: match\nmatch:\n  name: Login\n  Result: Fail\n", []string{`6: match.Result: unknown field (a filter has`}},
		{"unknown groupBy field", "id: x\nseverity: High\nkind: threshold\nmatch: {name: Login}\ngroupBy: [device, Remote]\nwindow: 1m\nthreshold: 2\n", []string{`5: groupBy: "Remote": unknown field of Login events`}},
		{"duplicate id", okThreshold + "---\n" + okThreshold, []string{`9: id: duplicate id "x" (first at line 1)`}},
		{"bad severity", "id: x\nseverity: Critical\nkind: match\nmatch: {name: Login}\n", []string{`2: severity: unknown severity "Critical"`}},
		{"missing severity", "id: x\nkind: match\nmatch: {name: Login}\n", []string{`1: severity: required`}},
		{"bad technique", "id: x\nseverity: Low\ntechnique: T1110.1\nkind: match\nmatch: {name: Login}\n", []string{`3: technique: "T1110.1" is not a MITRE ATT&CK technique id`}},
		{"bad technique letters", "id: x\nseverity: Low\ntechnique: TA0001\nkind: match\nmatch: {name: Login}\n", []string{`3: technique: "TA0001" is not`}},
		{"bad id", "id: SSH_Brute\nseverity: Low\nkind: match\nmatch: {name: Login}\n", []string{`1: id: "SSH_Brute": want lower-case letters`}},
		{"missing id", "severity: Low\nkind: match\nmatch: {name: Login}\n", []string{`1: id: required`}},
		{"repeated key", "id: x\nid: y\nseverity: Low\nkind: match\nmatch: {name: Login}\n", []string{`2: id: given twice`}},
		{"yaml syntax", "id: x\nseverity: [High\n", []string{`1: yaml: did not find expected ',' or ']'`}},
		{"yaml syntax later", "id: x\nseverity: High\n  kind: match\n", []string{`3: yaml: mapping values are not allowed in this context`}},
		{"not a mapping", "- id: x\n", []string{`1: rule: a rule is a mapping of fields`}},
		{"alias", "id: &a x\ntitle: *a\nseverity: Low\nkind: match\nmatch: {name: Login}\n", []string{`2: title: aliases (*name) are not supported`}},
		{"enabled not bool", "id: x\nenabled: nope\nseverity: Low\nkind: match\nmatch: {name: Login}\n", []string{`2: enabled: want true or false`}},
		{"stub with other fields", "id: x\nenabled: false\nseverity: Low\n", []string{`3: severity: a rule without kind only disables a built-in rule`}},
		{"sequence one step", "id: x\nseverity: Low\nkind: sequence\nwithin: 5m\nsteps:\n  - rule: a\n", []string{`5: steps: want 2 to 8 steps`}},
		{"sequence step both", "id: x\nseverity: Low\nkind: sequence\nwithin: 5m\nsteps:\n  - rule: a\n    match: {name: Login}\n  - rule: b\n", []string{`6: steps[0]: want exactly one of rule and match`}},
		{"sequence self", "id: x\nseverity: Low\nkind: sequence\nwithin: 5m\nsteps:\n  - rule: x\n  - rule: b\n", []string{`6: steps[0].rule: a sequence cannot follow its own detections`}},
		{"sequence missing within", "id: x\nseverity: Low\nkind: sequence\nsteps:\n  - rule: a\n  - rule: b\n", []string{`1: within: required`}},
		{"absence bad", "id: x\nseverity: Low\nkind: absence\nabsence: quiet\n", []string{`4: absence: "quiet": want silent or never`}},
		{"newvalue no value", "id: x\nseverity: Low\nkind: newvalue\nmatch: {name: LocalUsers}\n", []string{`1: value: required`}},
		{"newvalue split not in value", "id: x\nseverity: Low\nkind: newvalue\nmatch: {name: LocalUsers}\nvalue: [UserName]\nsplit: {field: GroupNames}\n", []string{`6: split.field: "GroupNames" is not one of the value fields`}},
		{"newvalue changes removed", "id: x\nseverity: Low\nkind: newvalue\nmatch: {name: LocalUsers}\nvalue: [UserName]\nchanges: [Removed]\n", []string{`6: changes: "Removed": want Added or Changed`}},
		{"maxAlertsPerMinute zero", "id: x\nseverity: Low\nkind: match\nmatch: {name: Login}\nmaxAlertsPerMinute: 0\n", []string{`5: maxAlertsPerMinute: want 1 to`}},
		{"bad source", "id: x\nseverity: Low\nkind: match\nmatch: {source: agnt}\n", []string{`4: match.source: unknown source "agnt"`}},
		{"bad change", "id: x\nseverity: Low\nkind: match\nmatch: {change: Modified}\n", []string{`4: match.change: unknown change "Modified"`}},
		{"null value", "id: x\nseverity: Low\nkind: match\nmatch:\n  name: Login\n  fields:\n    UserName:\n", []string{`7: match.fields.UserName: empty value`}},
		{"empty any", "id: x\nseverity: Low\nkind: match\nmatch:\n  any: []\n", []string{`5: match.any: want a non-empty list of filters`}},
		{"two errors", "id: x\nseverity: Severe\nkind: threshold\nmatch: {name: Login}\nwindow: 5m\nthreshold: -1\n", []string{`2: severity: unknown severity "Severe"`, `6: threshold: want 1 to`}},
		{"second document", okThreshold + "---\nid: y\nseverity: Low\nkind: match\nmatch: {name: Nope}\n", []string{`12: match.name: unknown event name "Nope"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Parse("f.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; rules %v", rs)
			}
			if rs != nil {
				t.Errorf("rules returned with an error: %v", rs)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T, want ErrorList: %v", err, err)
			}
			if len(list) != len(tc.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(list), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got := list[i].Error(); !strings.HasPrefix(got, "f.yaml:"+w) {
					t.Errorf("error %d = %q, want prefix %q", i, got, "f.yaml:"+w)
				}
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	src := `# comment only document
---
id: brute
title: Brute
severity: High
technique: T1110.001
kind: threshold
match:
  source: [agent]
  name: Login
  fields:
    Result: Fail
    LocalPort: 22
    InvalidUser: True
    UserName: {not: [root, admin], prefix: a}
    Executable: {regex: 'sshd$', exists: true}
groupBy: [device, RemoteAddress]
window: 10m
threshold: 5
maxAlertsPerMinute: 10
---
id: seq
severity: Low
kind: sequence
within: 1d
steps:
  - rule: brute
  - match: {name: Login, fields: {Result: Success}}
---
id: off
enabled: false
---
id: silent
severity: Medium
kind: absence
absence: silent
---
id: ports
severity: Low
kind: newvalue
match: {name: ListeningPorts}
value: [Protocol, LocalPort]
`
	rs, err := Parse("ok.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	want := []*Rule{
		{ID: "brute", Title: "Brute", Severity: "High", Technique: "T1110.001", Enabled: true, Kind: KindThreshold,
			Match: &Filter{Source: []string{"agent"}, Name: []string{"Login"}, Fields: []FieldCond{
				{Field: "Result", Equal: []string{"Fail"}},
				{Field: "LocalPort", Equal: []string{"22"}},
				{Field: "InvalidUser", Equal: []string{"true"}},
				{Field: "UserName", Not: []string{"root", "admin"}, Prefix: []string{"a"}},
				{Field: "Executable", Regex: "sshd$", Exists: &yes},
			}},
			MaxAlertsPerMinute: 10, GroupBy: []string{"device", "RemoteAddress"}, Window: 10 * time.Minute, Threshold: 5,
			Origin: Origin{File: "ok.yaml", Line: 3}},
		{ID: "seq", Title: "seq", Severity: "Low", Enabled: true, Kind: KindSequence, MaxAlertsPerMinute: 60,
			Steps: []Step{{Rule: "brute", Line: 27}, {Match: &Filter{Name: []string{"Login"}, Fields: []FieldCond{{Field: "Result", Equal: []string{"Success"}}}}, Line: 28}},
			By:    []string{"device"}, Within: 24 * time.Hour, Origin: Origin{File: "ok.yaml", Line: 22}},
		{ID: "off", Origin: Origin{File: "ok.yaml", Line: 30}},
		{ID: "silent", Title: "silent", Severity: "Medium", Enabled: true, Kind: KindAbsence, MaxAlertsPerMinute: 60,
			Match: &Filter{Source: []string{"agent"}}, Absence: "silent", For: time.Hour, Origin: Origin{File: "ok.yaml", Line: 33}},
		{ID: "ports", Title: "ports", Severity: "Low", Enabled: true, Kind: KindNewValue, MaxAlertsPerMinute: 60,
			Match: &Filter{Name: []string{"ListeningPorts"}}, Value: []string{"Protocol", "LocalPort"}, Changes: []string{"Added"},
			Origin: Origin{File: "ok.yaml", Line: 38}},
	}
	if d := cmp.Diff(want, rs, cmpopts.IgnoreUnexported(FieldCond{})); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse("big.yaml", make([]byte, MaxFileSize+1))
	if err == nil || !strings.Contains(err.Error(), "big.yaml: file: larger than") {
		t.Errorf("err = %v", err)
	}
	_, err = Parse("bin.yaml", []byte("id: \xff\n"))
	if err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("err = %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"30s": 30 * time.Second, "10m": 10 * time.Minute, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "0s", "-1m", "5", "d", "1.5d", "99999d", "10 m"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, d)
		}
	}
}
