package firewall

import (
	"encoding/json"
	"strconv"
	"strings"
)

// statement renders one nft JSON statement in nft's text syntax and notes
// what it says in r. Counters render as "" (they change with traffic and
// would make every snapshot differ).
func statement(raw json.RawMessage, r *Rule) string {
	obj, ok := object(raw)
	if !ok || len(obj) != 1 {
		return compact(raw)
	}
	for kind, body := range obj {
		switch kind {
		case "counter":
			return ""
		case "accept", "drop", "continue", "return":
			r.Action = kind
			return kind
		case "reject":
			r.Action = kind
			return "reject"
		case "jump", "goto":
			var t struct {
				Target string `json:"target"`
			}
			_ = json.Unmarshal(body, &t)
			r.Action, r.Target = kind, text(t.Target)
			return kind + " " + r.Target
		case "match":
			return match(body, r)
		case "log":
			if r.Action == "" {
				r.Action = kind
			}
			var l struct {
				Prefix string `json:"prefix"`
			}
			if json.Unmarshal(body, &l) == nil && l.Prefix != "" {
				return "log prefix " + strconv.Quote(text(l.Prefix))
			}
			return "log"
		case "limit":
			var l struct {
				Rate  json.RawMessage `json:"rate"`
				Per   string          `json:"per"`
				Burst json.RawMessage `json:"burst"`
			}
			if json.Unmarshal(body, &l) != nil || len(l.Rate) == 0 {
				return kind + " " + compact(body)
			}
			s := "limit rate " + value(l.Rate, 1) + "/" + text(l.Per)
			if len(l.Burst) > 0 {
				s += " burst " + value(l.Burst, 1)
			}
			return s
		case "masquerade", "snat", "dnat", "redirect":
			if r.Action == "" {
				r.Action = kind
			}
			if string(body) == "null" {
				return kind
			}
			return kind + " " + compact(body)
		}
		return kind + " " + compact(body)
	}
	return ""
}

func object(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, false
	}
	return obj, true
}

// match renders {"op","left","right"} as "left [op] right" and fills the
// simple fields of r for the usual selectors.
func match(body json.RawMessage, r *Rule) string {
	var m struct {
		Op    string          `json:"op"`
		Left  json.RawMessage `json:"left"`
		Right json.RawMessage `json:"right"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "match " + compact(body)
	}
	left, field := selector(m.Left)
	right := value(m.Right, 0)
	op := text(m.Op)
	neg := ""
	if op == "!=" {
		neg = "!"
	}
	if op == "==" || op == "in" || op == "" {
		op = ""
	} else {
		op += " "
	}
	if neg != "" || op == "" {
		setField(r, field, neg+right)
	}
	return left + " " + op + right
}

// selector renders the left side and names the Rule field it maps to.
func selector(raw json.RawMessage) (string, string) {
	obj, ok := object(raw)
	if !ok || len(obj) != 1 {
		return compact(raw), ""
	}
	for kind, body := range obj {
		var s struct {
			Protocol string `json:"protocol"`
			Field    string `json:"field"`
			Key      string `json:"key"`
		}
		if json.Unmarshal(body, &s) != nil {
			return kind + " " + compact(body), ""
		}
		proto, field, key := text(s.Protocol), text(s.Field), text(s.Key)
		switch kind {
		case "payload":
			if proto == "" {
				return "payload " + compact(body), ""
			}
			name := proto + " " + field
			switch {
			case field == "dport":
				return name, "dport:" + proto
			case field == "sport":
				return name, "sport:" + proto
			case field == "saddr" && (proto == "ip" || proto == "ip6"):
				return name, "saddr"
			case field == "daddr" && (proto == "ip" || proto == "ip6"):
				return name, "daddr"
			case proto == "ip" && field == "protocol", proto == "ip6" && field == "nexthdr":
				return name, "proto"
			}
			return name, ""
		case "meta":
			switch key {
			case "l4proto":
				return "meta l4proto", "proto"
			case "iifname", "iif":
				return key, "iif"
			case "oifname", "oif":
				return key, "oif"
			}
			return "meta " + key, ""
		case "ct":
			if key == "state" {
				return "ct state", "state"
			}
			return "ct " + key, ""
		}
		return kind + " " + compact(body), ""
	}
	return "", ""
}

func setField(r *Rule, field, v string) {
	switch {
	case field == "proto":
		r.Protocol = v
	case field == "saddr":
		r.Source = v
	case field == "daddr":
		r.Destination = v
	case field == "iif":
		r.InInterface = v
	case field == "oif":
		r.OutInterface = v
	case field == "state":
		r.State = v
	case strings.HasPrefix(field, "dport:"):
		r.DestinationPort = v
		r.Protocol = strings.TrimPrefix(field, "dport:")
	case strings.HasPrefix(field, "sport:"):
		r.SourcePort = v
		r.Protocol = strings.TrimPrefix(field, "sport:")
	}
}

// maxDepth bounds the rendering of nested values (sets of sets, …).
const maxDepth = 8

// value renders a right-hand side: 22, "lo", {"set":[…]}, {"range":[a,b]},
// {"prefix":{"addr":…, "len":…}} or a list of flags.
func value(raw json.RawMessage, depth int) string {
	if depth > maxDepth {
		return "…"
	}
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return compact(raw)
		}
		return text(s)
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return compact(raw)
		}
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = value(v, depth+1)
		}
		return strings.Join(parts, ",")
	case '{':
		obj, ok := object(raw)
		if !ok || len(obj) != 1 {
			return compact(raw)
		}
		for kind, body := range obj {
			switch kind {
			case "set":
				var list []json.RawMessage
				if json.Unmarshal(body, &list) != nil {
					return compact(raw)
				}
				parts := make([]string, len(list))
				for i, v := range list {
					parts[i] = value(v, depth+1)
				}
				return "{ " + strings.Join(parts, ", ") + " }"
			case "range":
				var ends []json.RawMessage
				if json.Unmarshal(body, &ends) != nil || len(ends) != 2 {
					return compact(raw)
				}
				return value(ends[0], depth+1) + "-" + value(ends[1], depth+1)
			case "prefix":
				var pf struct {
					Addr json.RawMessage `json:"addr"`
					Len  json.RawMessage `json:"len"`
				}
				if json.Unmarshal(body, &pf) != nil {
					return compact(raw)
				}
				return value(pf.Addr, depth+1) + "/" + value(pf.Len, depth+1)
			}
		}
		return compact(raw)
	}
	return compact(raw) // numbers, true, false, null
}
