package rules

import (
	"testing"

	"github.com/moatsec/moat/internal/center"
)

func TestFilterMatch(t *testing.T) {
	login := &center.Event{Source: "agent", Name: "Login", Device: "d1", Fields: map[string]string{
		"Result": "Fail", "RemoteAddress": "203.0.113.7", "UserName": "admin", "Executable": "/usr/sbin/sshd"}}
	users := &center.Event{Source: "agent", Name: "LocalUsers", SnapshotMode: "Diff", Change: "Changed", Fields: map[string]string{
		"UserName": "pi", "GroupNames": "adm, pi,sudo"}}
	proc := &center.Event{Source: "agent", Name: "ProcessCreate", Fields: map[string]string{"Executable": "/usr/bin/nc.traditional"}}
	empty := &center.Event{Source: "agent", Name: "FirewallConfiguration", SnapshotMode: "Full"}
	tests := []struct {
		filter string
		ev     *center.Event
		want   bool
	}{
		{"{}", login, true},
		{"{name: Login}", login, true},
		{"{name: [Diagnostic, Login]}", login, true},
		{"{name: LocalUsers}", login, false},
		{"{source: hub}", login, false},
		{"{fields: {Result: Fail}}", login, true},
		{"{fields: {Result: [Success, Fail]}}", login, true},
		{"{fields: {Result: {in: [Success]}}}", login, false},
		{"{fields: {Result: {eq: Fail}}}", login, true},
		{"{fields: {UserName: {not: admin}}}", login, false},
		{"{fields: {UserName: {not: [root]}}}", login, true},
		{"{fields: {RemoteAddress: {prefix: [10., 203.]}}}", login, true},
		{"{fields: {Executable: {suffix: /sshd}}}", login, true},
		{"{fields: {Executable: {contains: bin}}}", login, true},
		{"{fields: {Executable: {regex: '^/usr/s?bin/'}}}", login, true},
		{"{fields: {Executable: {regex: '^/bin/'}}}", login, false},
		{"{fields: {AuthMethod: {exists: true}}}", login, false},
		{"{fields: {AuthMethod: {exists: false}}}", login, true},
		{"{fields: {AuthMethod: ''}}", login, true},
		{"{fields: {device: d1, name: Login, source: agent}}", login, true},
		{"{fields: {UserName: {not: admin, prefix: a}}}", login, false},
		{"{fields: {GroupNames: {anyItem: [wheel, pi]}}}", users, true},
		{"{fields: {GroupNames: {anyItem: [wheel, docker]}}}", users, false},
		{"{fields: {GroupNames: {anyItem: [sud]}}}", users, false},
		{"{change: Changed, snapshot: Diff}", users, true},
		{"{change: [Added]}", users, false},
		{"{snapshot: Full}", users, false},
		{"{fields: {Executable: {basename: [nc, nc.traditional]}}}", proc, true},
		{"{fields: {Executable: {basename: [bin]}}}", proc, false},
		{"{empty: true}", empty, true},
		{"{empty: true}", login, false},
		{"{empty: false}", login, true},
		{"{any: [{name: Diagnostic}, {fields: {Result: Fail}}]}", login, true},
		{"{any: [{name: Diagnostic}, {fields: {Result: Success}}]}", login, false},
		{"{name: Login, any: [{fields: {UserName: root}}, {any: [{fields: {UserName: admin}}]}]}", login, true},
	}
	for _, tc := range tests {
		rs, err := Parse("f.yaml", []byte("id: x\nseverity: Low\nkind: match\nmatch: "+tc.filter+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if got := rs[0].Match.Match(tc.ev); got != tc.want {
			t.Errorf("%s on %s: %v, want %v", tc.filter, tc.ev.Name, got, tc.want)
		}
	}
	var nilFilter *Filter
	if !nilFilter.Match(login) {
		t.Error("a nil filter refuses an event")
	}
}

func TestFilterNames(t *testing.T) {
	tests := []struct {
		filter string
		names  string
		ok     bool
	}{
		{"{}", "", false},
		{"{name: Login}", "Login", true},
		{"{any: [{name: Login}, {name: [Diagnostic, Login]}]}", "Login,Diagnostic", true},
		{"{any: [{name: Login}, {source: hub}]}", "", false},
	}
	for _, tc := range tests {
		rs, err := Parse("f.yaml", []byte("id: x\nseverity: Low\nkind: match\nmatch: "+tc.filter+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		n, ok := rs[0].Match.Names()
		got := ""
		for i, x := range n {
			if i > 0 {
				got += ","
			}
			got += x
		}
		if got != tc.names || ok != tc.ok {
			t.Errorf("%s: Names() = %q, %v; want %q, %v", tc.filter, got, ok, tc.names, tc.ok)
		}
	}
}

func TestSplitItems(t *testing.T) {
	var got []string
	SplitItems(" adm,,pi , sudo,", []string{"sudo", "adm"}, func(s string) { got = append(got, s) })
	if len(got) != 2 || got[0] != "adm" || got[1] != "sudo" {
		t.Errorf("got %q", got)
	}
	got = nil
	SplitItems("a,b", nil, func(s string) { got = append(got, s) })
	if len(got) != 2 {
		t.Errorf("got %q", got)
	}
}
