package users

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

func TestParsePasswdLine(t *testing.T) {
	tests := []struct {
		line string
		want Entry
		err  string
	}{
		{"root:x:0:0:root:/root:/bin/bash", Entry{"root", "x", 0, 0, "root", "/root", "/bin/bash"}, ""},
		{"guest::1002:1002::/home/guest:", Entry{"guest", "", 1002, 1002, "", "/home/guest", ""}, ""},
		{"big:x:4294967295:0:::", Entry{"big", "x", 4294967295, 0, "", "", ""}, ""},
		{"", Entry{}, "not an entry"},
		{"# comment", Entry{}, "not an entry"},
		{"+nisuser::::::", Entry{}, "NIS"},
		{"-bad", Entry{}, "NIS"},
		{"root:x:0:0:root:/root", Entry{}, "6 fields"},
		{"root:x:0:0:root:/root:/bin/sh:extra", Entry{}, "8 fields"},
		{"root:x:-1:0:root:/root:/bin/sh", Entry{}, "uid"},
		{"root:x:4294967296:0:root:/root:/bin/sh", Entry{}, "uid"},
		{"root:x:0:zero:root:/root:/bin/sh", Entry{}, "gid"},
		{":x:0:0:root:/root:/bin/sh", Entry{}, "empty name"},
		{"bad name:x:0:0:::", Entry{}, "space"},
		{"bad\x00:x:0:0:::", Entry{}, "control"},
		{"bad\xff:x:0:0:::", Entry{}, "invalid"},
		{strings.Repeat("n", 300) + ":x:0:0:::", Entry{}, "longer than 256"},
	}
	for _, tt := range tests {
		got, err := ParsePasswdLine(tt.line)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %+v, %v", tt.line, got, err)
		}
	}
}

func TestParseGroupLine(t *testing.T) {
	g, err := ParseGroupLine("sudo:x:27:ops, pi,,")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(GroupEntry{"sudo", 27, []string{"ops", "pi"}}, g); diff != "" {
		t.Fatal(diff)
	}
	for line, want := range map[string]string{
		"sudo:x:27":          "3 fields",
		"sudo:x:27:a:b":      "5 fields",
		"sudo:x:x:":          "gid",
		"sudo:x:27:a b":      "member",
		"sudo:x:27:a,\x01,b": "member",
		"#sudo:x:27:":        "not an entry",
	} {
		if _, err := ParseGroupLine(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", line, err, want)
		}
	}
}

func TestLoginCapable(t *testing.T) {
	for shell, want := range map[string]bool{
		"/bin/bash": true, "/bin/sh": true, "": true, "/usr/bin/zsh": true, "/bin/busybox": true,
		"/usr/sbin/nologin": false, "/sbin/nologin": false, "/bin/false": false, "/usr/bin/false": false,
		"/bin/sync": false, "/sbin/halt": false, "/sbin/shutdown": false, " /usr/sbin/nologin ": false,
	} {
		if got := LoginCapable(shell); got != want {
			t.Errorf("LoginCapable(%q) = %v", shell, got)
		}
	}
}

func TestCollect(t *testing.T) {
	m := fstest.MapFS{
		"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/bash\n" +
			"ops:x:1000:1000::/home/ops:/bin/bash\n" +
			"svc:x:999:999::/var/lib/svc:/usr/sbin/nologin\n" +
			"wheelie:x:1001:10::/home/w:/bin/sh\n" +
			"root:x:5:5:dup:/:/bin/sh\n" +
			"broken line\n")},
		"etc/group": {Data: []byte("root:x:0:\nwheel:x:10:\ndocker:x:998:svc\nops:x:1000:\nsudo:x:27:ops,ops,ghost\n")},
	}
	got := Collect(hostfs.Root{FS: m}, Options{})
	want := Snapshot{
		Users: []User{
			{Name: "root", UID: 0, GID: 0, PrimaryGroup: "root", GECOS: "root", Home: "/root", Shell: "/bin/bash", LoginCapable: true, Privileged: true, PrivilegedBy: []string{"primary group root", "uid 0"}},
			{Name: "svc", UID: 999, GID: 999, Groups: []string{"docker"}, Home: "/var/lib/svc", Shell: "/usr/sbin/nologin", Privileged: true, PrivilegedBy: []string{"group docker"}},
			{Name: "ops", UID: 1000, GID: 1000, PrimaryGroup: "ops", Groups: []string{"sudo"}, Home: "/home/ops", Shell: "/bin/bash", LoginCapable: true, Privileged: true, PrivilegedBy: []string{"group sudo"}},
			{Name: "wheelie", UID: 1001, GID: 10, PrimaryGroup: "wheel", Home: "/home/w", Shell: "/bin/sh", LoginCapable: true, Privileged: true, PrivilegedBy: []string{"primary group wheel"}},
		},
		Groups: []Group{
			{Name: "root", GID: 0, Privileged: true},
			{Name: "wheel", GID: 10, Privileged: true},
			{Name: "sudo", GID: 27, Members: []string{"ghost", "ops"}, Privileged: true},
			{Name: "docker", GID: 998, Members: []string{"svc"}, Privileged: true},
			{Name: "ops", GID: 1000},
		},
		Problems: []hostfs.Problem{
			{File: "etc/passwd", Line: 5, Reason: `duplicate user "root", first entry kept`},
			{File: "etc/passwd", Line: 6, Reason: "1 fields, want 7"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("-want +got:\n%s", diff)
	}
	custom := Collect(hostfs.Root{FS: m}, Options{PrivilegedGroups: []string{"ops"}})
	if u := custom.Users[2]; u.Name != "ops" || !u.Privileged {
		t.Errorf("custom privileged groups: %+v", u)
	}
}

func TestCollectMissing(t *testing.T) {
	got := Collect(hostfs.Root{FS: fstest.MapFS{}}, Options{})
	if len(got.Users) != 0 || len(got.Problems) != 2 {
		t.Fatalf("got %+v", got)
	}
}

func TestParseBounded(t *testing.T) {
	_, probs := ParsePasswd("p", []byte(strings.Repeat("x:y\n", 1000)))
	if len(probs) != maxProblems {
		t.Fatalf("%d problems", len(probs))
	}
}

func FuzzParsePasswdLine(f *testing.F) {
	for _, s := range []string{"root:x:0:0:root:/root:/bin/bash", "guest::1002:1002::/home/guest:", "+nis", ":::::::", "a:b:c:d:e:f:g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParsePasswdLine(line)
		if err != nil {
			if e != (Entry{}) {
				t.Fatal("entry returned with an error")
			}
			return
		}
		if checkName(e.Name) != nil || errors.Is(skippable(line), ErrSkip) {
			t.Fatalf("accepted %q", line)
		}
	})
}

func FuzzParseGroupLine(f *testing.F) {
	for _, s := range []string{"sudo:x:27:ops,pi", "root:x:0:", "a:b:c:d", "x:x:1:,,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		g, err := ParseGroupLine(line)
		if err != nil {
			return
		}
		for _, m := range g.Members {
			if checkName(m) != nil {
				t.Fatalf("accepted member %q", m)
			}
		}
	})
}
