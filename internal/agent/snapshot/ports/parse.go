package ports

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Socket states printed in the "st" column of /proc/net/{tcp,udp}.
const (
	StateEstablished = 0x01
	StateClose       = 0x07 // UDP: unconnected, i.e. listening
	StateListen      = 0x0A
)

// ErrHeader is returned by ParseLine for the column header line.
var ErrHeader = errors.New("header line")

// Entry is one parsed line of /proc/net/{tcp,tcp6,udp,udp6}.
type Entry struct {
	Local  netip.AddrPort
	Remote netip.AddrPort
	State  uint8
	UID    uint32
	Inode  uint64
}

// ParseLine parses one line of a /proc/net/{tcp,tcp6,udp,udp6} file. order
// is the byte order of the kernel that wrote it (the kernel prints each
// 32-bit word of an address in host order: little-endian on x86 and most
// ARM, big-endian on some MIPS and PowerPC devices).
func ParseLine(line string, order binary.ByteOrder) (Entry, error) {
	f := strings.Fields(line)
	if len(f) > 0 && f[0] == "sl" {
		return Entry{}, ErrHeader
	}
	// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
	if len(f) < 10 {
		return Entry{}, fmt.Errorf("%d fields, want at least 10", len(f))
	}
	if !strings.HasSuffix(f[0], ":") {
		return Entry{}, fmt.Errorf("slot %s: no colon", quote(f[0]))
	}
	var e Entry
	var err error
	if e.Local, err = ParseAddrPort(f[1], order); err != nil {
		return Entry{}, fmt.Errorf("local address: %w", err)
	}
	if e.Remote, err = ParseAddrPort(f[2], order); err != nil {
		return Entry{}, fmt.Errorf("remote address: %w", err)
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || len(f[3]) != 2 {
		return Entry{}, fmt.Errorf("state %s: not two hex digits", quote(f[3]))
	}
	e.State = uint8(st)
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return Entry{}, fmt.Errorf("uid %s: %w", quote(f[7]), errors.Unwrap(err))
	}
	e.UID = uint32(uid)
	if e.Inode, err = strconv.ParseUint(f[9], 10, 64); err != nil {
		return Entry{}, fmt.Errorf("inode %s: %w", quote(f[9]), errors.Unwrap(err))
	}
	return e, nil
}

// ParseAddrPort parses "0100007F:0016" (IPv4, 8 hex digits) or the
// 32-hex-digit IPv6 form. The port is always big-endian hex.
func ParseAddrPort(s string, order binary.ByteOrder) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%s: no port", quote(s))
	}
	if len(p) != 4 {
		return netip.AddrPort{}, fmt.Errorf("port %s: not four hex digits", quote(p))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %s: not hex", quote(p))
	}
	if len(a) != 8 && len(a) != 32 {
		return netip.AddrPort{}, fmt.Errorf("address %s: %d hex digits, want 8 or 32", quote(a), len(a))
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %s: not hex", quote(a))
	}
	// The kernel prints each 32-bit word with "%08X" of the integer that
	// the network-order bytes make when read in host order: parse the
	// digits as an integer and store it back in host order.
	out := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		order.PutUint32(out[i:], binary.BigEndian.Uint32(raw[i:i+4]))
	}
	addr, _ := netip.AddrFromSlice(out)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

func quote(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "…"
	}
	return strconv.Quote(s)
}
