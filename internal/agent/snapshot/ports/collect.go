package ports

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// Listener is one listening socket. Its stable key (Key) is protocol,
// local address and port; PID and Inode change whenever the program
// restarts.
type Listener struct {
	Protocol      string `json:"protocol"` // "tcp", "tcp6", "udp" or "udp6": the /proc/net file
	LocalAddress  string `json:"localAddress"`
	LocalPort     uint16 `json:"localPort"`
	AllInterfaces bool   `json:"allInterfaces"` // bound to 0.0.0.0 or ::
	UID           uint32 `json:"uid"`           // socket owner
	Inode         uint64 `json:"inode"`
	PID           int    `json:"pid,omitempty"` // 0: owner not found or not readable
	Comm          string `json:"comm,omitempty"`
	Executable    string `json:"executable,omitempty"`
}

// Key identifies the listener across snapshots, e.g. "tcp 0.0.0.0:22" or
// "tcp6 [::]:22".
func (l Listener) Key() string {
	return l.Protocol + " " + net.JoinHostPort(l.LocalAddress, strconv.Itoa(int(l.LocalPort)))
}

// Snapshot is the listening sockets of a device, sorted by protocol,
// address and port, with the lines and files that could not be read.
type Snapshot struct {
	Listeners []Listener       `json:"listeners"`
	Problems  []hostfs.Problem `json:"problems,omitempty"`
}

// Options tune Collect.
type Options struct {
	// ByteOrder of the kernel that wrote /proc/net; nil means this host's
	// (binary.NativeEndian), which is right for a live root.
	ByteOrder binary.ByteOrder
}

// Files are the /proc/net files read, each naming its protocol.
var files = []struct{ proto, path string }{
	{"tcp", "proc/net/tcp"},
	{"tcp6", "proc/net/tcp6"},
	{"udp", "proc/net/udp"},
	{"udp6", "proc/net/udp6"},
}

// Collect reads the listening sockets under root and resolves their owners.
// It never fails as a whole: what it could not read is in Problems.
func Collect(ctx context.Context, root hostfs.Root, opts Options) Snapshot {
	order := opts.ByteOrder
	if order == nil {
		order = binary.NativeEndian
	}
	var snap Snapshot
	var found []listener
	missing := 0
	for _, f := range files {
		data, err := root.ReadFile(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			missing++ // tcp6/udp6 are absent when IPv6 is off
			continue
		}
		if err != nil {
			snap.Problems = append(snap.Problems, hostfs.Problem{File: f.path, Reason: err.Error()})
			continue
		}
		ls, probs := parseFile(f.proto, f.path, data, order)
		found = append(found, ls...)
		snap.Problems = append(snap.Problems, probs...)
	}
	if missing == len(files) {
		snap.Problems = append(snap.Problems, hostfs.Problem{File: "proc/net", Reason: "no tcp/udp socket tables: is proc mounted under the root?"})
	}
	found = dedupe(found)
	if len(found) > 0 {
		snap.Problems = append(snap.Problems, resolveOwners(ctx, root, found)...)
	}
	snap.Listeners = make([]Listener, len(found))
	for i, l := range found {
		snap.Listeners[i] = l.Listener
	}
	return snap
}

// listener keeps the parsed address for sorting.
type listener struct {
	Listener
	addr netip.Addr
}

// parseFile keeps the listening sockets of one /proc/net file: TCP in
// LISTEN, UDP unconnected (state 07).
func parseFile(proto, path string, data []byte, order binary.ByteOrder) ([]listener, []hostfs.Problem) {
	want := uint8(StateListen)
	if proto == "udp" || proto == "udp6" {
		want = StateClose
	}
	var out []listener
	var probs []hostfs.Problem
	for n, line := range hostfs.Lines(data) {
		e, err := ParseLine(line, order)
		if errors.Is(err, ErrHeader) {
			continue
		}
		if err != nil {
			if len(probs) < maxProblemsPerFile {
				probs = append(probs, hostfs.Problem{File: path, Line: n, Reason: err.Error()})
			}
			continue
		}
		if e.State != want {
			continue
		}
		a := e.Local.Addr()
		out = append(out, listener{addr: a, Listener: Listener{
			Protocol:      proto,
			LocalAddress:  a.String(),
			LocalPort:     e.Local.Port(),
			AllInterfaces: a.IsUnspecified(),
			UID:           e.UID,
			Inode:         e.Inode,
		}})
	}
	return out, probs
}

// maxProblemsPerFile bounds the report for a file full of garbage.
const maxProblemsPerFile = 20

// dedupe sorts and merges sockets with the same key (SO_REUSEPORT groups),
// keeping the lowest inode.
func dedupe(ls []listener) []listener {
	slices.SortFunc(ls, func(a, b listener) int {
		return cmp.Or(
			cmp.Compare(a.Protocol, b.Protocol),
			a.addr.Compare(b.addr),
			cmp.Compare(a.LocalPort, b.LocalPort),
			cmp.Compare(a.Inode, b.Inode),
		)
	})
	return slices.CompactFunc(ls, func(a, b listener) bool {
		return a.Protocol == b.Protocol && a.addr == b.addr && a.LocalPort == b.LocalPort
	})
}

// pidNames returns the numeric entries of proc in ascending order.
func pidNames(entries []fs.DirEntry) []int {
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 && e.IsDir() {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

func problemf(file, format string, args ...any) hostfs.Problem {
	return hostfs.Problem{File: file, Reason: fmt.Sprintf(format, args...)}
}
