package hostfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/passwd":      "etc/passwd",
		"etc/passwd":       "etc/passwd",
		"/":                ".",
		"":                 ".",
		"/etc/../../x":     "x", // cleaned as an absolute path: cannot climb above the root
		"proc//1/./fd/3":   "proc/1/fd/3",
		"../../etc/shadow": "etc/shadow",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadFileCap(t *testing.T) {
	m := fstest.MapFS{
		"small": {Data: []byte("12345")},
		"big":   {Data: []byte(strings.Repeat("x", 11))},
	}
	r := Root{FS: m, MaxFileSize: 10}
	if got, err := r.ReadFile("/small"); err != nil || string(got) != "12345" {
		t.Fatalf("small: %q, %v", got, err)
	}
	if _, err := r.ReadFile("big"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big: err = %v, want ErrTooLarge", err)
	}
	exact := Root{FS: fstest.MapFS{"f": {Data: make([]byte, 10)}}, MaxFileSize: 10}
	if _, err := exact.ReadFile("f"); err != nil {
		t.Fatalf("file of exactly the cap: %v", err)
	}
	if _, err := r.ReadFile("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

// TestReadFileCapOnDisk: a file larger than the default cap is refused
// without reading it all (the limit applies while reading).
func TestReadFileCapOnDisk(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "huge"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(DefaultMaxFileSize + 1); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	if _, err := Dir(dir).ReadFile("huge"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestLines(t *testing.T) {
	type line struct {
		N int
		S string
	}
	var got []line
	for n, s := range Lines([]byte("a\r\n\nb\nlast")) {
		got = append(got, line{n, s})
	}
	want := []line{{1, "a"}, {2, ""}, {3, "b"}, {4, "last"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
	long := strings.Repeat("x", 100_000) // longer than bufio.Scanner's 64 KB
	for _, s := range Lines([]byte(long + "\nend")) {
		if s != long {
			t.Fatalf("long line cut to %d bytes", len(s))
		}
		break
	}
}

func TestOwner(t *testing.T) {
	m := fstest.MapFS{"owned": {Sys: Ownership{UID: 7, GID: 42}}, "none": {}}
	fi, _ := fs.Stat(m, "owned")
	if uid, gid, ok := Owner(fi); !ok || uid != 7 || gid != 42 {
		t.Fatalf("Owner = %d %d %v", uid, gid, ok)
	}
	fi, _ = fs.Stat(m, "none")
	if _, _, ok := Owner(fi); ok {
		t.Fatal("Owner without Sys reported ok")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o600)
	fi, err := Dir(dir).Stat("f")
	if err != nil {
		t.Fatal(err)
	}
	if uid, _, ok := Owner(fi); !ok || int(uid) != os.Getuid() {
		t.Fatalf("disk Owner = %d %v, want %d", uid, ok, os.Getuid())
	}
}

type plainFS struct{ fs.FS }

func TestReadLink(t *testing.T) {
	m := fstest.MapFS{"l": {Mode: fs.ModeSymlink, Data: []byte("socket:[5]")}}
	if got, err := (Root{FS: m}).ReadLink("/l"); err != nil || got != "socket:[5]" {
		t.Fatalf("ReadLink = %q, %v", got, err)
	}
	if _, err := (Root{FS: plainFS{m}}).ReadLink("l"); !errors.Is(err, ErrNoReadLink) {
		t.Fatalf("err = %v, want ErrNoReadLink", err)
	}
}

func TestQuote(t *testing.T) {
	if got := Quote("a\x00b"); got != `"a\x00b"` {
		t.Errorf("Quote = %s", got)
	}
	if got := Quote(strings.Repeat("y", 100)); len(got) > MaxLineReason+8 || !strings.HasSuffix(got, "…") {
		t.Errorf("Quote of a long string = %s", got)
	}
}
