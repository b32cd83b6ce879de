package firewall

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// fakeRunner answers commands from a table; absent commands are "not
// found", like exec reports them.
type fakeRunner struct {
	out   map[string]string
	calls []string
}

func (f *fakeRunner) run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, line)
	out, ok := f.out[line]
	if !ok {
		return nil, &exec.Error{Name: name, Err: exec.ErrNotFound}
	}
	return []byte(out), nil
}

const (
	nftDrop  = `{"nftables":[{"table":{"family":"inet","name":"f"}},{"chain":{"family":"inet","table":"f","name":"input","type":"filter","hook":"input","prio":0,"policy":"drop"}}]}`
	nftEmpty = `{"nftables":[{"metainfo":{"version":"1.0.6"}}]}`
	iptOpen  = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"
	ip6Drop  = "*filter\n:INPUT DROP [0:0]\nCOMMIT\n"
)

func TestCollectFromCommands(t *testing.T) {
	tests := []struct {
		name     string
		out      map[string]string
		backend  string
		status   Status
		source   string
		calls    int
		problems int
		inputPol string
	}{
		{"nft with rules", map[string]string{"nft -j list ruleset": nftDrop, "iptables-save": iptOpen}, BackendNftables, StatusFiltering, "nft -j list ruleset", 1, 0, "drop"},
		{"nft empty, iptables-legacy rules", map[string]string{"nft -j list ruleset": nftEmpty, "iptables-save": iptOpen, "ip6tables-save": ip6Drop}, BackendIptables, StatusFiltering, "iptables-save, ip6tables-save", 3, 0, "drop"},
		{"nft empty, no iptables", map[string]string{"nft -j list ruleset": nftEmpty}, BackendNftables, StatusNone, "nft -j list ruleset", 3, 2, ""},
		{"no nft, iptables open", map[string]string{"iptables-save": iptOpen}, BackendIptables, StatusOpen, "iptables-save", 3, 2, "accept"},
		{"no nft, iptables empty", map[string]string{"iptables-save": "", "ip6tables-save": ""}, BackendIptables, StatusNone, "iptables-save, ip6tables-save", 3, 1, ""},
		{"nothing", map[string]string{}, "", StatusUnknown, "", 3, 3, ""},
		{"nft garbage", map[string]string{"nft -j list ruleset": "Error: syntax"}, "", StatusUnknown, "", 3, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRunner{out: tt.out}
			rs := Collect(context.Background(), Options{Run: f.run})
			if rs.Backend != tt.backend || rs.Status != tt.status || rs.Source != tt.source || rs.InputPolicy != tt.inputPol {
				t.Errorf("got backend %q status %q source %q input %q (%s)", rs.Backend, rs.Status, rs.Source, rs.InputPolicy, rs.StatusReason)
			}
			if len(f.calls) != tt.calls || len(rs.Problems) != tt.problems {
				t.Errorf("calls %v, problems %v", f.calls, rs.Problems)
			}
		})
	}
}

func TestCollectFromFile(t *testing.T) {
	dir := t.TempDir()
	nft := filepath.Join(dir, "ruleset.json")
	ipt := filepath.Join(dir, "rules.v4")
	big := filepath.Join(dir, "big")
	os.WriteFile(nft, []byte("\n  "+nftDrop), 0o600)
	os.WriteFile(ipt, []byte(iptOpen), 0o600)
	os.WriteFile(big, make([]byte, 2048), 0o600)
	called := false
	run := func(context.Context, string, ...string) ([]byte, error) { called = true; return nil, nil }

	rs := Collect(context.Background(), Options{File: nft, Run: run})
	if rs.Backend != BackendNftables || rs.Status != StatusFiltering || rs.Source != "file "+nft || called {
		t.Errorf("nft file: %+v (runner called: %v)", rs, called)
	}
	rs = Collect(context.Background(), Options{File: ipt})
	if rs.Backend != BackendIptables || rs.Status != StatusOpen {
		t.Errorf("iptables file: %+v", rs)
	}
	rs = Collect(context.Background(), Options{File: big, MaxSize: 1024})
	if rs.Status != StatusUnknown || len(rs.Problems) != 1 || !strings.Contains(rs.Problems[0].Reason, "read cap") {
		t.Errorf("big file: %+v", rs)
	}
	rs = Collect(context.Background(), Options{File: filepath.Join(dir, "missing")})
	if rs.Status != StatusUnknown || len(rs.Problems) != 1 || !strings.Contains(rs.Problems[0].Reason, "no such file") {
		t.Errorf("missing file: %+v", rs)
	}
	rs = Collect(context.Background(), Options{})
	if rs.Status != StatusUnknown || len(rs.Problems) != 1 || !strings.Contains(rs.Problems[0].Reason, "no firewall source") {
		t.Errorf("no source: %+v", rs)
	}
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name   string
		rs     Ruleset
		status Status
		input  string
	}{
		{"empty", Ruleset{}, StatusNone, ""},
		{"tables only", Ruleset{Tables: []Table{{"ip", "filter"}}}, StatusNone, ""},
		{"all accept", Ruleset{Chains: []Chain{{Hook: "input", Policy: "accept", Rules: []Rule{{Action: "accept"}, {Action: "jump"}}}}}, StatusOpen, "accept"},
		{"drop policy on output only", Ruleset{Chains: []Chain{{Hook: "output", Policy: "drop"}, {Hook: "input", Policy: "accept"}}}, StatusFiltering, "accept"},
		{"reject rule", Ruleset{Chains: []Chain{{Name: "user", Rules: []Rule{{Action: "reject"}}}}}, StatusFiltering, ""},
		{"any input drop wins", Ruleset{Chains: []Chain{{Hook: "input", Policy: "accept"}, {Hook: "input", Policy: "drop"}, {Hook: "input", Policy: "accept"}}}, StatusFiltering, "drop"},
	}
	for _, tt := range tests {
		tt.rs.Assess()
		if tt.rs.Status != tt.status || tt.rs.InputPolicy != tt.input || tt.rs.StatusReason == "" {
			t.Errorf("%s: status %q input %q reason %q", tt.name, tt.rs.Status, tt.rs.InputPolicy, tt.rs.StatusReason)
		}
	}
}

func TestExecRunner(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	run := ExecRunner(100)
	out, err := run(context.Background(), "sh", "-c", "printf hello")
	if err != nil || string(out) != "hello" {
		t.Fatalf("got %q, %v", out, err)
	}
	if _, err := run(context.Background(), "sh", "-c", "head -c 100000 /dev/zero"); !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("big output: err = %v", err)
	}
	_, err = run(context.Background(), "sh", "-c", "echo boom >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing command: err = %v", err)
	}
	if _, err := run(context.Background(), "moat-no-such-command-x"); !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("missing command: err = %v", err)
	}
}

func TestParseKeepsProblems(t *testing.T) {
	rs := Parse("s", []byte("{not json"))
	if rs.Backend != "" || len(rs.Problems) != 1 {
		t.Fatalf("%+v", rs)
	}
	rs = Parse("s", []byte("*filter\n:INPUT DROP [0:0]\nbogus\nCOMMIT\n"))
	want := []hostfs.Problem{{File: "s", Line: 3, Reason: `"bogus": not a chain, rule or COMMIT`}}
	if diff := cmp.Diff(want, rs.Problems); diff != "" {
		t.Fatal(diff)
	}
}
