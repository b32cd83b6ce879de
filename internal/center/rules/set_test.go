package rules

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, file, src string) []*Rule {
	t.Helper()
	rs, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func ids(rs []*Rule) string {
	var b []string
	for _, r := range rs {
		b = append(b, r.ID)
	}
	return strings.Join(b, ",")
}

const builtinSrc = `id: brute
severity: High
kind: threshold
match: {name: Login, fields: {Result: Fail}}
groupBy: [device, RemoteAddress]
window: 10m
threshold: 5
---
id: brute-success
severity: High
kind: sequence
by: [device, RemoteAddress]
within: 30m
steps:
  - rule: brute
  - match: {name: Login, fields: {Result: Success}}
---
id: ports
severity: Medium
kind: newvalue
match: {name: ListeningPorts}
value: [Protocol, LocalPort]
`

func TestNewSet(t *testing.T) {
	builtin := mustParse(t, "builtin/b.yaml", builtinSrc)
	tests := []struct {
		name    string
		user    map[string]string // file → content, parsed in name order
		active  string
		wantErr string
		warning string
	}{
		{name: "builtin only", active: "brute,brute-success,ports"},
		{name: "user rule added", user: map[string]string{"a.yaml": "id: mine\nseverity: Low\nkind: match\nmatch: {name: Login}\n"},
			active: "brute,brute-success,mine,ports"},
		{name: "override", user: map[string]string{"a.yaml": "id: ports\nseverity: High\nkind: newvalue\nmatch: {name: ListeningPorts}\nvalue: [LocalPort]\n"},
			active: "brute,brute-success,ports"},
		{name: "disable stub", user: map[string]string{"a.yaml": "id: ports\nenabled: false\n"}, active: "brute,brute-success"},
		{name: "disable followed rule", user: map[string]string{"a.yaml": "id: brute\nenabled: false\n"}, active: "ports",
			warning: `rule "brute-success" follows "brute", which is disabled or inactive`},
		{name: "disabled full rule", user: map[string]string{"a.yaml": "id: mine\nenabled: false\nseverity: Low\nkind: match\nmatch: {name: Login}\n"},
			active: "brute,brute-success,ports"},
		{name: "stub of nothing", user: map[string]string{"a.yaml": "\n\nid: nothing\nenabled: false\n"},
			wantErr: `a.yaml:3: id: no built-in rule "nothing" to disable`},
		{name: "duplicate across files", user: map[string]string{
			"a.yaml": "id: mine\nseverity: Low\nkind: match\nmatch: {name: Login}\n",
			"b.yaml": "# x\nid: mine\nseverity: Low\nkind: match\nmatch: {name: Login}\n"},
			wantErr: `b.yaml:2: id: duplicate id "mine" (first at a.yaml:1)`},
		{name: "step names no rule", user: map[string]string{"a.yaml": "id: s\nseverity: Low\nkind: sequence\nwithin: 1m\nsteps:\n  - rule: brute\n  - rule: nope\n"},
			wantErr: `a.yaml:7: steps[1].rule: no rule "nope"`},
		{name: "cycle", user: map[string]string{"a.yaml": "id: s1\nseverity: Low\nkind: sequence\nwithin: 1m\nsteps:\n  - rule: brute\n  - rule: s2\n---\nid: s2\nseverity: Low\nkind: sequence\nwithin: 1m\nsteps:\n  - rule: s1\n  - rule: brute\n"},
			wantErr: `sequences follow each other in a cycle`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var user []*Rule
			for _, f := range []string{"a.yaml", "b.yaml"} {
				if src, ok := tc.user[f]; ok {
					user = append(user, mustParse(t, f, src)...)
				}
			}
			s, err := NewSet(builtin, user)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(s.Rules()); got != tc.active {
				t.Errorf("active rules %s, want %s", got, tc.active)
			}
			if tc.warning != "" && (len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], tc.warning)) {
				t.Errorf("warnings %q, want %q", s.Warnings, tc.warning)
			}
			if tc.warning == "" && len(s.Warnings) > 0 {
				t.Errorf("warnings %q", s.Warnings)
			}
		})
	}
}

func TestOverrideKeepsUserDefinition(t *testing.T) {
	builtin := mustParse(t, "builtin/b.yaml", builtinSrc)
	user := mustParse(t, "u.yaml", "id: ports\ntitle: Mine\nseverity: High\nkind: newvalue\nmatch: {name: ListeningPorts}\nvalue: [LocalPort]\n")
	s, err := NewSet(builtin, user)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.Rule("ports")
	if r.Title != "Mine" || r.Severity != "High" || r.Origin.File != "u.yaml" || len(r.Value) != 1 {
		t.Errorf("ports = %+v", r)
	}
	b, _ := NewSet(builtin, nil)
	br, _ := b.Rule("ports")
	if br.StateKey() == r.StateKey() {
		t.Error("a different value list keeps the StateKey")
	}
	// Title and severity do not change the state key.
	meta := *br
	meta.Title, meta.Severity, meta.Origin = "Other", "Low", Origin{File: "x"}
	if meta.StateKey() != br.StateKey() {
		t.Error("title, severity or origin change the StateKey")
	}
}

func TestBuiltin(t *testing.T) {
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "attack-tool-executed,auditd-disabled,auth-failures,device-needs-maintenance,device-silent,device-without-agent," +
		"exec-from-temp,firewall-disabled,log-files-removed,new-listening-port,new-local-user,revoked-publisher-active," +
		"ssh-brute-force,ssh-brute-force-success,token-refused-location,user-added-to-privileged-group"
	if got := ids(s.Rules()); got != want {
		t.Errorf("built-in rules\n got %s\nwant %s", got, want)
	}
	for _, r := range s.Rules() {
		if r.Technique == "" || r.Remediation == "" || r.Description == "" || r.Title == r.ID || !r.Origin.Builtin {
			t.Errorf("%s: every built-in has a technique, a remediation, a description and a title: %+v", r.ID, r)
		}
	}
	bf, _ := s.Rule("ssh-brute-force")
	if bf.Threshold != 5 || bf.Window.Minutes() != 10 || bf.Technique != "T1110.001" || bf.Severity != "High" {
		t.Errorf("ssh-brute-force = %+v", bf)
	}
}
