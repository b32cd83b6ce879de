package ports

import (
	"context"
	"encoding/binary"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func line(local, remote, state string, uid, inode int) string {
	return "   0: " + local + " " + remote + " " + state + " 00000000:00000000 00:00000000 00000000 " +
		strconv.Itoa(uid) + " 0 " + strconv.Itoa(inode) + " 1 0000000000000000 100 0 0 10 0\n"
}

func link(target string) *fstest.MapFile {
	return &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(target)}
}

func TestCollect(t *testing.T) {
	m := fstest.MapFS{
		"proc/net/tcp": {Data: []byte(header +
			line("00000000:0016", "00000000:0000", "0A", 0, 100) +
			line("0100007F:0050", "00000000:0000", "0A", 33, 101) +
			line("0100007F:0050", "00000000:0000", "0A", 33, 102) + // SO_REUSEPORT twin
			line("3201A8C0:0016", "0A01A8C0:C3CA", "01", 0, 103) + // established
			line("00000000:1F90", "00000000:0000", "0A", 0, 104) + // no owner
			"garbage\n")},
		"proc/net/udp": {Data: []byte(header +
			line("00000000:0044", "00000000:0000", "07", 0, 200) +
			line("3201A8C0:9470", "0101A8C0:007B", "01", 0, 201))}, // connected: not listening
		"proc/10/comm":    {Data: []byte("sshd\n")},
		"proc/10/exe":     link("/usr/sbin/sshd"),
		"proc/10/fd/3":    link("socket:[100]"),
		"proc/10/fd/4":    link("/dev/null"),
		"proc/9/comm":     {Data: []byte("sshd-parent\n")},
		"proc/9/fd/3":     link("socket:[100]"), // lower PID wins
		"proc/20/comm":    {Data: []byte("web\xff\n")},
		"proc/20/fd/5":    link("socket:[101]"),
		"proc/20/fd/6":    link("socket:[102]"),
		"proc/30/fd/1":    link("socket:[200]"),
		"proc/self/fd/1":  link("socket:[104]"), // not a PID directory
		"proc/notapid/fd": {Mode: fs.ModeDir},
	}
	got := Collect(context.Background(), hostfs.Root{FS: m}, Options{ByteOrder: binary.LittleEndian})
	want := Snapshot{
		Listeners: []Listener{
			{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: 22, AllInterfaces: true, Inode: 100, PID: 9, Comm: "sshd-parent"},
			{Protocol: "tcp", LocalAddress: "0.0.0.0", LocalPort: 8080, AllInterfaces: true, Inode: 104},
			{Protocol: "tcp", LocalAddress: "127.0.0.1", LocalPort: 80, UID: 33, Inode: 101, PID: 20, Comm: "web\uFFFD"},
			{Protocol: "udp", LocalAddress: "0.0.0.0", LocalPort: 68, AllInterfaces: true, Inode: 200, PID: 30},
		},
		Problems: []hostfs.Problem{{File: "proc/net/tcp", Line: 7, Reason: "1 fields, want at least 10"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("-want +got:\n%s", diff)
	}
	if k := got.Listeners[2].Key(); k != "tcp 127.0.0.1:80" {
		t.Errorf("Key = %q", k)
	}
	if k := (Listener{Protocol: "tcp6", LocalAddress: "::", LocalPort: 22}).Key(); k != "tcp6 [::]:22" {
		t.Errorf("Key = %q", k)
	}
}

func TestCollectNoProc(t *testing.T) {
	got := Collect(context.Background(), hostfs.Root{FS: fstest.MapFS{}}, Options{})
	if len(got.Listeners) != 0 || len(got.Problems) != 1 || !strings.Contains(got.Problems[0].Reason, "no tcp/udp socket tables") {
		t.Fatalf("got %+v", got)
	}
}

func TestCollectTooLarge(t *testing.T) {
	m := fstest.MapFS{"proc/net/tcp": {Data: []byte(header + strings.Repeat(line("00000000:0016", "00000000:0000", "0A", 0, 1), 100))}}
	got := Collect(context.Background(), hostfs.Root{FS: m, MaxFileSize: 1024}, Options{})
	if len(got.Problems) != 1 || !strings.Contains(got.Problems[0].Reason, "read cap") {
		t.Fatalf("got %+v", got.Problems)
	}
}

// TestCollectGarbageBounded: a file of garbage yields a bounded report.
func TestCollectGarbageBounded(t *testing.T) {
	m := fstest.MapFS{"proc/net/udp": {Data: []byte(strings.Repeat("\x00\xff garbage :\n", 10000))}}
	got := Collect(context.Background(), hostfs.Root{FS: m}, Options{})
	if len(got.Problems) != maxProblemsPerFile {
		t.Fatalf("%d problems, want %d", len(got.Problems), maxProblemsPerFile)
	}
}

// deniedFS refuses to list the fd directories of some processes, like
// /proc for an agent that is not root.
type deniedFS struct {
	fstest.MapFS
	deny map[string]bool
}

func (d deniedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if d.deny[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.MapFS.ReadDir(name)
}

func TestCollectPermissionDenied(t *testing.T) {
	m := fstest.MapFS{
		"proc/net/tcp": {Data: []byte(header + line("00000000:0016", "00000000:0000", "0A", 0, 100))},
		"proc/1/fd/3":  link("socket:[100]"),
		"proc/2/fd/0":  link("/dev/null"),
	}
	got := Collect(context.Background(), hostfs.Root{FS: deniedFS{m, map[string]bool{"proc/1/fd": true}}}, Options{ByteOrder: binary.LittleEndian})
	if got.Listeners[0].PID != 0 {
		t.Fatalf("owner found through a denied directory: %+v", got.Listeners[0])
	}
	if len(got.Problems) != 1 || !strings.Contains(got.Problems[0].Reason, "permission denied") {
		t.Fatalf("problems = %+v", got.Problems)
	}
}

func TestCollectCancelled(t *testing.T) {
	m := fstest.MapFS{
		"proc/net/tcp": {Data: []byte(header + line("00000000:0016", "00000000:0000", "0A", 0, 100))},
		"proc/1/fd/3":  link("socket:[100]"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := Collect(ctx, hostfs.Root{FS: m}, Options{ByteOrder: binary.LittleEndian})
	if len(got.Listeners) != 1 || got.Listeners[0].PID != 0 || len(got.Problems) != 1 {
		t.Fatalf("got %+v", got)
	}
}

func TestSocketInode(t *testing.T) {
	for in, want := range map[string]uint64{"socket:[1]": 1, "socket:[18446744073709551615]": 1<<64 - 1} {
		if got, ok := socketInode(in); !ok || got != want {
			t.Errorf("socketInode(%q) = %d %v", in, got, ok)
		}
	}
	for _, in := range []string{"socket:[]", "socket:[x]", "pipe:[1]", "socket:[1", "socket:[18446744073709551616]"} {
		if _, ok := socketInode(in); ok {
			t.Errorf("socketInode(%q) accepted", in)
		}
	}
}
