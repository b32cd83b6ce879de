package sysinfo

import (
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

func TestParseOSReleaseLine(t *testing.T) {
	tests := []struct{ line, key, value, err string }{
		{`NAME="Debian GNU/Linux"`, "NAME", "Debian GNU/Linux", ""},
		{`VERSION_ID=12`, "VERSION_ID", "12", ""},
		{`PRETTY_NAME='Alpine Linux v3.19'`, "PRETTY_NAME", "Alpine Linux v3.19", ""},
		{`X="a \"quoted\" \$var \\ \n"`, "X", `a "quoted" $var \ \n`, ""},
		{`EMPTY=`, "EMPTY", "", ""},
		{`  ID=debian  `, "ID", "debian", ""},
		{`# comment`, "", "", "not an assignment"},
		{``, "", "", "not an assignment"},
		{`NAME`, "", "", "no '='"},
		{`=x`, "", "", "not a variable name"},
		{`BAD KEY=x`, "", "", "not a variable name"},
		{`NAME="unterminated`, "", "", "unterminated double quote"},
		{`NAME='unterminated`, "", "", "unterminated single quote"},
		{`NAME='`, "", "", "unterminated single quote"},
		{`NAME="a"b`, "", "", "text after closing quote"},
	}
	for _, tt := range tests {
		k, v, err := ParseOSReleaseLine(tt.line)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || k != tt.key || v != tt.value {
			t.Errorf("%q: got %q=%q, %v; want %q=%q", tt.line, k, v, err, tt.key, tt.value)
		}
	}
}

func TestParseMeminfoLine(t *testing.T) {
	tests := []struct {
		line  string
		name  string
		value uint64
		err   string
	}{
		{"MemTotal:       16318480 kB", "MemTotal", 16318480 * 1024, ""},
		{"HugePages_Total:       0", "HugePages_Total", 0, ""},
		{"MemTotal: 18014398509481983 kB", "MemTotal", 18014398509481983 * 1024, ""},
		{"MemTotal: 18014398509481984 kB", "", 0, "overflows"},
		{"MemTotal: 99999999999999999999 kB", "", 0, "not a number"},
		{"MemTotal: -1 kB", "", 0, "not a number"},
		{"MemTotal: 12 MB", "", 0, "unit"},
		{"MemTotal:", "", 0, "want a number"},
		{"MemTotal: 1 kB extra", "", 0, "want a number"},
		{"no colon 12", "", 0, "no 'Name:'"},
	}
	for _, tt := range tests {
		name, v, err := ParseMeminfoLine(tt.line)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || name != tt.name || v != tt.value {
			t.Errorf("%q: got %s %d %v", tt.line, name, v, err)
		}
	}
}

func TestParseBootTime(t *testing.T) {
	got, err := ParseBootTime([]byte("cpu 1 2 3\nbtime 1717171717\nprocesses 3\n"))
	if err != nil || !got.Equal(time.Unix(1717171717, 0)) || got.Location() != time.UTC {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"cpu 1\n", "btime x\n", "btime -5\n", "btime 0\n", "btime 253402300800\n", "btime 99999999999999999999\n"} {
		if _, err := ParseBootTime([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCollect(t *testing.T) {
	m := fstest.MapFS{
		"usr/lib/os-release":        {Data: []byte("NAME=Yocto\nVERSION_ID=4.0\nPRETTY_NAME=\"Poky 4.0\"\nBROKEN\n")},
		"proc/sys/kernel/osrelease": {Data: []byte("5.15.0-yocto\n")},
		"proc/sys/kernel/hostname":  {Data: []byte("\n")},
		"etc/hostname":              {Data: []byte("from-etc\n")},
		"proc/meminfo":              {Data: []byte("MemTotal: 1 kB\nMemFree: garbage\nMemAvailable: x kB\n")},
		"proc/stat":                 {Data: []byte("btime 10\n")},
	}
	got := Collect(hostfs.Root{FS: m}, Options{Arch: "riscv64"})
	want := Info{
		OSName: "Yocto", OSVersionID: "4.0", OSPrettyName: "Poky 4.0", Kernel: "5.15.0-yocto",
		Hostname: "from-etc", Arch: "riscv64", MemTotalBytes: 1024, BootTime: time.Unix(10, 0).UTC(),
		Problems: []hostfs.Problem{
			{File: "usr/lib/os-release", Line: 4, Reason: `"BROKEN": no '='`},
			{File: "proc/meminfo", Line: 3, Reason: `MemAvailable: "x" is not a number`},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("-want +got:\n%s", diff)
	}
}

func TestCollectEmptyRoot(t *testing.T) {
	got := Collect(hostfs.Root{FS: fstest.MapFS{}}, Options{})
	if got.Arch == "" || got.Kernel != "" || len(got.Problems) != 5 {
		t.Fatalf("got %+v", got)
	}
	var files []string
	for _, p := range got.Problems {
		files = append(files, p.File)
	}
	want := []string{"usr/lib/os-release", "proc/sys/kernel/osrelease", "proc/sys/kernel/hostname, etc/hostname", "proc/meminfo", "proc/stat"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Fatal(diff)
	}
}

func TestFields(t *testing.T) {
	f := Info{Arch: "arm", MemTotalBytes: math.MaxUint64, MemAvailableBytes: 5, BootTime: time.Unix(0, 0)}.Fields()
	for _, x := range f {
		if x.Name == "mem_available_bytes" {
			t.Fatal("volatile field listed")
		}
	}
	if f[1].Name != "boot_time" || f[1].Value != "1970-01-01T00:00:00Z" {
		t.Fatalf("boot_time = %+v", f[1])
	}
}

func FuzzParseOSReleaseLine(f *testing.F) {
	for _, s := range []string{`NAME="Debian GNU/Linux"`, `ID=debian`, `X='y'`, `X="a\"b"`, `X="\`, `#`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		k, _, err := ParseOSReleaseLine(line)
		if err == nil && k == "" {
			t.Fatalf("%q: empty key accepted", line)
		}
	})
}

func FuzzParseMeminfoLine(f *testing.F) {
	for _, s := range []string{"MemTotal:       16318480 kB", "HugePages_Total: 0", "X: 18014398509481984 kB", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		name, v, err := ParseMeminfoLine(line)
		if err == nil && (name == "" || (strings.HasSuffix(strings.TrimSpace(line), "kB") && v%1024 != 0)) {
			t.Fatalf("%q: accepted as %q %d", line, name, v)
		}
	})
}
