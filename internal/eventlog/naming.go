package eventlog

import "strconv"

// Naming. With prefix P (default "moat"):
//
//	hub stream:      P_hub_<hub>            e.g. moat_hub_telemetry
//	partition p:     P.hub.<hub>.<p>        e.g. moat.hub.telemetry.3
//	KV bucket:       P_<bucket>             e.g. moat_revocations (stream KV_moat_revocations)
//
// A prefix has no '_' so the mapping is injective; hub names never contain
// '.', '*' or '>' so they are single subject tokens.
type names struct{ prefix string }

func (n names) stream(hub string) string { return n.prefix + "_hub_" + hub }

func (n names) subject(hub string, partition int) string {
	return n.prefix + ".hub." + hub + "." + strconv.Itoa(partition)
}

func (n names) subjects(hub string, partitions int) []string {
	s := make([]string, partitions)
	for p := range s {
		s[p] = n.subject(hub, p)
	}
	return s
}

func (n names) bucket(name string) string { return n.prefix + "_" + name }

func validPrefix(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// validHub reports whether s matches [a-z0-9][a-z0-9_-]{0,63}.
func validHub(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		lowerOrDigit := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !lowerOrDigit && (i == 0 || c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// validBucket reports whether s is usable as a bucket name: letters, digits,
// '_' and '-', at most 64 characters.
func validBucket(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' && s[i] != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
