package firewall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// ParseNFTJSON parses the output of `nft -j list ruleset`. A document that
// is not JSON, or has no "nftables" array, is an error; objects inside it
// that cannot be read are problems and are skipped.
func ParseNFTJSON(file string, data []byte) ([]Table, []Chain, []hostfs.Problem, error) {
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, nil, fmt.Errorf("nft JSON: %w", err)
	}
	if doc.Nftables == nil {
		return nil, nil, nil, errors.New(`nft JSON: no "nftables" array`)
	}
	p := nftParser{file: file, index: make(map[string]int)}
	for i, obj := range doc.Nftables {
		for _, kind := range slices.Sorted(maps.Keys(obj)) {
			if err := p.object(kind, obj[kind]); err != nil && len(p.probs) < maxProblems {
				p.probs = append(p.probs, hostfs.Problem{File: file, Reason: fmt.Sprintf("nftables[%d] %s: %v", i, hostfs.Quote(kind), err)})
			}
		}
	}
	return p.tables, p.chains, p.probs, nil
}

type nftParser struct {
	file   string
	index  map[string]int // Chain.Key() → index
	tables []Table
	chains []Chain
	probs  []hostfs.Problem
}

type nftChain struct {
	Family string          `json:"family"`
	Table  string          `json:"table"`
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Hook   string          `json:"hook"`
	Prio   json.RawMessage `json:"prio"`
	Policy string          `json:"policy"`
}

type nftRule struct {
	Family  string            `json:"family"`
	Table   string            `json:"table"`
	Chain   string            `json:"chain"`
	Expr    []json.RawMessage `json:"expr"`
	Comment string            `json:"comment"`
}

func (p *nftParser) object(kind string, raw json.RawMessage) error {
	switch kind {
	case "table":
		var t Table
		if err := json.Unmarshal(raw, &t); err != nil {
			return err
		}
		if t.Family == "" || t.Name == "" {
			return errors.New("table without family or name")
		}
		p.tables = append(p.tables, Table{Family: text(t.Family), Name: text(t.Name)})
	case "chain":
		var c nftChain
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		return p.chain(c)
	case "rule":
		var r nftRule
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		return p.rule(r)
	}
	return nil // metainfo, set, map, element, flowtable, counter, …: not needed
}

func (p *nftParser) chain(c nftChain) error {
	if c.Family == "" || c.Table == "" || c.Name == "" {
		return errors.New("chain without family, table or name")
	}
	ch := Chain{Family: text(c.Family), Table: text(c.Table), Name: text(c.Name),
		Type: text(c.Type), Hook: text(c.Hook), Policy: text(c.Policy)}
	if len(c.Prio) > 0 && string(c.Prio) != "null" {
		prio, err := parsePrio(c.Prio)
		if err != nil {
			return fmt.Errorf("chain %s: %w", hostfs.Quote(ch.Name), err)
		}
		ch.Priority = &prio
	}
	if ch.Hook != "" && ch.Policy == "" {
		ch.Policy = "accept" // nft's default for base chains
	}
	if _, dup := p.index[ch.Key()]; dup {
		return fmt.Errorf("chain %s listed twice", hostfs.Quote(ch.Key()))
	}
	p.index[ch.Key()] = len(p.chains)
	p.chains = append(p.chains, ch)
	return nil
}

// parsePrio reads an integer priority; older nft versions wrote some as
// strings.
func parsePrio(raw json.RawMessage) (int, error) {
	var n int32
	if err := json.Unmarshal(raw, &n); err == nil {
		return int(n), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if v, err := strconv.ParseInt(s, 10, 32); err == nil {
			return int(v), nil
		}
	}
	return 0, fmt.Errorf("priority %s: not a 32-bit integer", hostfs.Quote(string(raw)))
}

func (p *nftParser) rule(r nftRule) error {
	key := Chain{Family: text(r.Family), Table: text(r.Table), Name: text(r.Chain)}.Key()
	i, ok := p.index[key]
	if !ok {
		return fmt.Errorf("rule for unknown chain %s", hostfs.Quote(key))
	}
	rule := Rule{Comment: text(r.Comment)}
	parts := make([]string, 0, len(r.Expr))
	for _, stmt := range r.Expr {
		if s := statement(stmt, &rule); s != "" {
			parts = append(parts, s)
		}
	}
	rule.Text = strings.Join(parts, " ")
	p.chains[i].Rules = append(p.chains[i].Rules, rule)
	return nil
}

// compact renders unknown JSON as one line.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return hostfs.Quote(string(raw))
	}
	s := b.String()
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return text(s)
}

func text(s string) string {
	if len(s) > 1024 {
		s = s[:1024]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
