package store

import (
	"fmt"
	"strings"
)

// The rights a Rule can grant, in canonical order.
const (
	RightManage = "Manage"
	RightSend   = "Send"
	RightListen = "Listen"
)

// canonicalRights lists every right in canonical order.
var canonicalRights = [...]string{RightManage, RightSend, RightListen}

// NormalizeRights validates rights and returns them de-duplicated, in
// canonical spelling and order (Manage, Send, Listen). Names match
// case-insensitively. An empty input yields an empty, non-nil slice, so the
// result always encodes as a JSON array. Backends normalize on PutRule; callers
// can use it to validate input before reaching the store.
func NormalizeRights(rights []string) ([]string, error) {
	var seen [len(canonicalRights)]bool
	for _, r := range rights {
		i := rightIndex(r)
		if i < 0 {
			return nil, fmt.Errorf("store: unknown right %q (want Manage, Send or Listen)", r)
		}
		seen[i] = true
	}
	out := make([]string, 0, len(canonicalRights))
	for i, ok := range seen {
		if ok {
			out = append(out, canonicalRights[i])
		}
	}
	return out, nil
}

func rightIndex(r string) int {
	for i, c := range canonicalRights {
		if strings.EqualFold(r, c) {
			return i
		}
	}
	return -1
}
