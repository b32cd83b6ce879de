package firewall

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseNFTJSON(t *testing.T) {
	data, err := os.ReadFile("testdata/nft-mixed.json")
	if err != nil {
		t.Fatal(err)
	}
	tables, chains, probs, err := ParseNFTJSON("f", data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Table{{"ip", "nat"}, {"inet", "fw"}, {"inet", "second"}}, tables); diff != "" {
		t.Fatal(diff)
	}
	want := []Chain{
		{Family: "ip", Table: "nat", Name: "postrouting", Type: "nat", Hook: "postrouting", Priority: prio(100), Policy: "accept", Rules: []Rule{
			{Action: "masquerade", OutInterface: "wan0", Text: "oifname wan0 masquerade"},
		}},
		{Family: "inet", Table: "fw", Name: "in", Type: "filter", Hook: "input", Priority: prio(-10), Policy: "accept", Rules: []Rule{
			{Action: "reject", Source: "@blocked", Text: "ip saddr @blocked reject"},
			{Action: "goto", Target: "in", Protocol: "tcp", DestinationPort: "!1024-65535", Destination: "fe80::/10", Text: "tcp dport != 1024-65535 ip6 daddr fe80::/10 goto in"},
			{Action: "drop", Text: `xt {"type":"match","name":"recent"} drop`},
		}},
	}
	if diff := cmp.Diff(want, chains); diff != "" {
		t.Fatalf("-want +got:\n%s", diff)
	}
	var reasons []string
	for _, p := range probs {
		reasons = append(reasons, p.Reason)
	}
	wantProbs := []string{
		`nftables[10] "rule": rule for unknown chain "inet fw ghost"`,
		`nftables[11] "chain": chain "bad": priority "99999999999": not a 32-bit integer`,
	}
	if diff := cmp.Diff(wantProbs, reasons); diff != "" {
		t.Fatalf("problems -want +got:\n%s", diff)
	}
}

func TestParseNFTJSONErrors(t *testing.T) {
	for in, want := range map[string]string{
		``:                   "nft JSON",
		`{"nftables": `:      "nft JSON",
		`[]`:                 "nft JSON",
		`{}`:                 `no "nftables" array`,
		`{"nftables": null}`: `no "nftables" array`,
		`{"nftables": [1]}`:  "nft JSON",
		`{"nftables": "x"}`:  "nft JSON",
	} {
		if _, _, _, err := ParseNFTJSON("f", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
	_, chains, probs, err := ParseNFTJSON("f", []byte(`{"nftables": [{"chain": {"family": "ip"}}, {"table": 5}, {"rule": []}]}`))
	if err != nil || len(chains) != 0 || len(probs) != 3 {
		t.Fatalf("chains %v, problems %v, err %v", chains, probs, err)
	}
}

func TestNFTExpressions(t *testing.T) {
	tests := []struct {
		expr string
		want Rule
	}{
		{`[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[22,80,{"range":[8000,8100]}]}}},{"accept":null}]`,
			Rule{Action: "accept", Protocol: "tcp", DestinationPort: "{ 22, 80, 8000-8100 }", Text: "tcp dport { 22, 80, 8000-8100 } accept"}},
		{`[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"protocol"}},"right":"udp"}},{"drop":null}]`,
			Rule{Action: "drop", Protocol: "udp", Text: "ip protocol udp drop"}},
		{`[{"match":{"op":"<","left":{"meta":{"key":"mark"}},"right":5}}]`,
			Rule{Text: "meta mark < 5"}},
		{`[{"match":{"op":"==","left":{"ct":{"key":"mark"}},"right":1}},{"return":null}]`,
			Rule{Action: "return", Text: "ct mark 1 return"}},
		{`[{"log":null},{"snat":{"addr":"1.2.3.4"}}]`,
			Rule{Action: "log", Text: `log snat {"addr":"1.2.3.4"}`}},
		{`[{"limit":{"rate":10,"per":"second"}},{"log":{"prefix":"x\"y"}},{"counter":null}]`,
			Rule{Action: "log", Text: `limit rate 10/second log prefix "x\"y"`}},
		{`[{"jump":{"target":"next"}},{"accept":null,"drop":null},7,{"match":5}]`,
			Rule{Action: "jump", Target: "next", Text: `jump next {"accept":null,"drop":null} 7 match 5`}},
		{`[{"match":{"op":"==","left":{"payload":{"base":"th","offset":16,"len":16}},"right":5}}]`,
			Rule{Text: `payload {"base":"th","offset":16,"len":16} 5`}},
	}
	for _, tt := range tests {
		doc := `{"nftables":[{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":` + tt.expr + `}}]}`
		_, chains, probs, err := ParseNFTJSON("f", []byte(doc))
		if err != nil || len(probs) > 0 || len(chains) != 1 || len(chains[0].Rules) != 1 {
			t.Fatalf("%s: %v %v %v", tt.expr, chains, probs, err)
		}
		if diff := cmp.Diff(tt.want, chains[0].Rules[0]); diff != "" {
			t.Errorf("%s: -want +got:\n%s", tt.expr, diff)
		}
	}
}

// TestNFTDeepValue: deeply nested sets render bounded, without recursion
// trouble.
func TestNFTDeepValue(t *testing.T) {
	right := strings.Repeat(`{"set":[`, 500) + "1" + strings.Repeat(`]}`, 500)
	doc := `{"nftables":[{"chain":{"family":"ip","table":"t","name":"c"}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":` + right + `}}]}}]}`
	_, chains, _, err := ParseNFTJSON("f", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if txt := chains[0].Rules[0].Text; !strings.Contains(txt, "…") || len(txt) > 200 {
		t.Fatalf("text = %q", txt)
	}
}

func FuzzParseNFTJSON(f *testing.F) {
	seed, _ := os.ReadFile("testdata/nft-mixed.json")
	f.Add(seed)
	f.Add([]byte(`{"nftables":[{"chain":{"family":"ip","table":"t","name":"c","hook":"input","prio":0}},{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"accept":null}]}}]}`))
	f.Add([]byte(`{"nftables":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tables, chains, probs, err := ParseNFTJSON("f", data)
		if err != nil {
			if tables != nil || chains != nil {
				t.Fatal("results with an error")
			}
			return
		}
		if len(probs) > maxProblems {
			t.Fatalf("%d problems", len(probs))
		}
		for _, c := range chains {
			if c.Hook != "" && c.Policy == "" {
				t.Fatalf("base chain without policy: %+v", c)
			}
		}
	})
}
