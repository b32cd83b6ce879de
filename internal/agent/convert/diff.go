package convert

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/moatsec/moat/secmsg"
)

// Signed is a snapshot item with its Signature.
type Signed struct {
	Item secmsg.Item
	Sig  string
}

// Signature is what decides that a snapshot item changed: its encoding
// without the fields that move on their own (a listening socket's owner
// PID when the same program restarts; free memory).
func Signature(it secmsg.Item) string {
	switch v := it.(type) {
	case secmsg.ListeningPort:
		v.ProcessID = 0
		it = v
	case secmsg.SystemInformation:
		v.FreePhysicalMemoryInKB = 0
		it = v
	}
	b, _ := json.Marshal(it)
	return string(b)
}

// Diff compares the previous snapshot items (by key) with the current ones
// and returns the changes, each item marked Added, Removed or Changed, in
// key order.
func Diff(prev map[string]Signed, cur map[string]Signed) []secmsg.Item {
	var out []secmsg.Item
	keys := slices.Sorted(maps.Keys(cur))
	for _, k := range keys {
		c := cur[k]
		p, ok := prev[k]
		switch {
		case !ok:
			out = append(out, secmsg.WithChange(c.Item, secmsg.ChangeAdded))
		case p.Sig != c.Sig:
			out = append(out, secmsg.WithChange(c.Item, secmsg.ChangeChanged))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(prev)) {
		if _, ok := cur[k]; !ok {
			out = append(out, secmsg.WithChange(prev[k].Item, secmsg.ChangeRemoved))
		}
	}
	return out
}
