package detect

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/moatsec/moat/internal/center"
)

// addressFields hold addresses: an IPv4-mapped IPv6 address in them is
// unmapped before it makes a key, so ::ffff:203.0.113.7 and 203.0.113.7
// are one source.
var addressFields = map[string]bool{
	"RemoteAddress": true, "LocalAddress": true, "SourceAddress": true,
	"DestinationAddress": true, "sourceAddress": true,
}

// sourceFields make a detection's SourceAddress when grouped by.
var sourceFields = map[string]bool{"RemoteAddress": true, "sourceAddress": true, "SourceAddress": true}

// keySpec turns the values of a list of fields into a map key and an
// alert key. The pseudo-field "device" stands for the hub and the device.
type keySpec struct {
	fields []string
	addr   []bool
	device bool // "device" is one of fields: hub and device are in the map key
	src    int  // index of the source address field, -1 if none
}

func newKeySpec(fields []string) keySpec {
	k := keySpec{fields: fields, addr: make([]bool, len(fields)), src: -1}
	for i, f := range fields {
		k.addr[i] = addressFields[f]
		if f == "device" {
			k.device = true
		}
		if k.src < 0 && sourceFields[f] {
			k.src = i
		}
	}
	return k
}

// values appends the normalized values of the fields of e to dst.
func (k *keySpec) values(dst []string, e *center.Event) []string {
	for i, f := range k.fields {
		v := e.Field(f)
		if k.addr[i] {
			v = unmap(v)
		}
		dst = append(dst, v)
	}
	return dst
}

// mapKey appends the map key of vals (and of hub when the key has the
// device) to buf: length-prefixed values, so different values never make
// one key.
func (k *keySpec) mapKey(buf []byte, hub string, vals []string) []byte {
	if k.device {
		buf = appendPart(buf, hub)
	}
	for _, v := range vals {
		buf = appendPart(buf, v)
	}
	return buf
}

func appendPart(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// alertKey joins the values of the fields other than device and hub with
// "|", escaping "|" and "\" inside them with "\".
func (k *keySpec) alertKey(vals []string) string {
	var b strings.Builder
	first := true
	for i, f := range k.fields {
		if f == "device" || f == "hub" {
			continue
		}
		if !first {
			b.WriteByte('|')
		}
		first = false
		writeEscaped(&b, vals[i])
	}
	return b.String()
}

// source returns the source address among vals, "" if none.
func (k *keySpec) source(vals []string) string {
	if k.src < 0 {
		return ""
	}
	return vals[k.src]
}

func writeEscaped(b *strings.Builder, s string) {
	if !strings.ContainsAny(s, `|\`) {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '|' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// joinValues joins values like alertKey does.
func joinValues(vals []string) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte('|')
		}
		writeEscaped(&b, v)
	}
	return b.String()
}

// unmap returns an IPv4-mapped IPv6 address as IPv4; anything else as is.
func unmap(v string) string {
	if len(v) < 8 || !strings.EqualFold(v[:7], "::ffff:") {
		return v
	}
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4In6() {
		return v
	}
	return a.Unmap().String()
}
