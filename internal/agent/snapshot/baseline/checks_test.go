package baseline

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// good is a root on which every check passes.
func good() fstest.MapFS {
	root := hostfs.Ownership{}
	dir := func(mode fs.FileMode) *fstest.MapFile { return &fstest.MapFile{Mode: fs.ModeDir | mode, Sys: root} }
	return fstest.MapFS{
		"etc/ssh/sshd_config":                {Data: []byte("PermitRootLogin no\nPasswordAuthentication no\nMaxAuthTries 4\n"), Sys: root},
		"etc/passwd":                         {Data: []byte("root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000::/home/ops:/bin/bash\n"), Mode: 0o644, Sys: root},
		"etc/group":                          {Data: []byte("root:x:0:\n"), Mode: 0o644, Sys: root},
		"etc/shadow":                         {Data: []byte("root:*:19700:0:99999:7:::\nops:$y$abc:19700::::::\n"), Mode: 0o640, Sys: hostfs.Ownership{GID: 42}},
		"usr/sbin/auditd":                    {Mode: 0o755, Sys: root},
		"proc/sys/net/ipv4/ip_forward":       {Data: []byte("0\n")},
		"proc/sys/kernel/randomize_va_space": {Data: []byte("2\n")},
		"usr/bin":                            dir(0o755),
		"usr/local/bin":                      dir(0o755),
		"tmp":                                dir(0o1777),
	}
}

func run(m fs.FS, path string) map[string]Check {
	rep := Run(hostfs.Root{FS: m}, Options{PATH: path})
	out := make(map[string]Check)
	for _, c := range rep.Checks {
		out[c.ID] = c
	}
	return out
}

func TestAllPassOnGoodRoot(t *testing.T) {
	checks := run(good(), "/usr/local/bin:/usr/bin:/nonexistent")
	if len(checks) != len(IDs()) {
		t.Fatalf("%d checks, want %d", len(checks), len(IDs()))
	}
	for id, c := range checks {
		if c.Result != Pass {
			t.Errorf("%s: %s (actual %q, reason %q)", id, c.Result, c.Actual, c.Reason)
		}
		if c.Description == "" || c.Expected == "" || c.Remediation == "" || c.Severity == "" {
			t.Errorf("%s: incomplete definition %+v", id, c)
		}
	}
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name   string
		change func(fstest.MapFS)
		path   string
		id     string
		result Result
		actual string // substring of Actual (Fail/Pass) or Reason (Error)
	}{
		{"root login yes", sshd("PermitRootLogin yes\n"), "", "ssh.permit_root_login", Fail, "yes"},
		{"root login default", sshd("\n"), "", "ssh.permit_root_login", Pass, "prohibit-password (default)"},
		{"root login without-password", sshd("PermitRootLogin without-password\n"), "", "ssh.permit_root_login", Pass, "without-password"},
		{"password default yes", sshd("PermitRootLogin no\n"), "", "ssh.password_authentication", Fail, "yes (default)"},
		{"password YES", sshd("PasswordAuthentication YES\n"), "", "ssh.password_authentication", Fail, "YES"},
		{"empty passwords", sshd("PermitEmptyPasswords yes\n"), "", "ssh.permit_empty_passwords", Fail, "yes"},
		{"max auth default 6", sshd("\n"), "", "ssh.max_auth_tries", Fail, "6 (default)"},
		{"max auth 5", sshd("MaxAuthTries 5\n"), "", "ssh.max_auth_tries", Fail, "5"},
		{"max auth 4", sshd("MaxAuthTries 4\n"), "", "ssh.max_auth_tries", Pass, "4"},
		{"max auth garbage", sshd("MaxAuthTries lots\n"), "", "ssh.max_auth_tries", Error, "not a number"},
		{"x11", sshd("X11Forwarding yes\n"), "", "ssh.x11_forwarding", Fail, "yes"},
		{"protocol 1", sshd("Protocol 2,1\n"), "", "ssh.protocol", Fail, "2,1"},
		{"protocol 2", sshd("Protocol 2\n"), "", "ssh.protocol", Pass, "2"},
		{"no sshd_config", remove("etc/ssh/sshd_config"), "", "ssh.permit_root_login", Error, "file does not exist"},
		{"shadow world-readable", perm("etc/shadow", 0o644), "", "fs.shadow_permissions", Fail, "mode 0644"},
		{"shadow 0000", perm("etc/shadow", 0), "", "fs.shadow_permissions", Pass, "mode 0000"},
		{"shadow not root's", owner("etc/shadow", 1000), "", "fs.shadow_permissions", Fail, "owner 1000:0"},
		{"shadow setgid", perm("etc/shadow", fs.ModeSetgid|0o640), "", "fs.shadow_permissions", Fail, "0640"},
		{"shadow missing", remove("etc/shadow"), "", "fs.shadow_permissions", Error, "file does not exist"},
		{"shadow no owner info", owner("etc/shadow", -1), "", "fs.shadow_permissions", Error, "owner not available"},
		{"passwd world-writable", perm("etc/passwd", 0o666), "", "fs.passwd_permissions", Fail, "0666"},
		{"group group-writable", perm("etc/group", 0o664), "", "fs.group_permissions", Fail, "0664"},
		{"path world-writable", nothing, "/usr/bin:/tmp", "fs.path_world_writable", Fail, "/tmp (0777)"},
		{"path relative", nothing, "/usr/bin::.", "fs.path_world_writable", Fail, `"" (relative), "." (relative)`},
		{"path missing dirs", nothing, "/opt/none:/usr/bin", "fs.path_world_writable", Pass, "1 directories"},
		{"ip forward on", write("proc/sys/net/ipv4/ip_forward", "1\n"), "", "net.ip_forward", Fail, "1"},
		{"ip forward garbage", write("proc/sys/net/ipv4/ip_forward", "\x00\xff"), "", "net.ip_forward", Error, "unexpected value"},
		{"ip forward missing", remove("proc/sys/net/ipv4/ip_forward"), "", "net.ip_forward", Error, "file does not exist"},
		{"aslr off", write("proc/sys/kernel/randomize_va_space", "0\n"), "", "kernel.randomize_va_space", Fail, "0"},
		{"uid 0 twin", write("etc/passwd", "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n"), "", "accounts.uid0_only_root", Fail, "root, toor"},
		{"passwd missing", remove("etc/passwd"), "", "accounts.uid0_only_root", Error, "file does not exist"},
		{"empty shadow hash", write("etc/shadow", "root:*:1::::::\nguest::1::::::\n"), "", "accounts.empty_passwords", Fail, "guest"},
		{"empty passwd field, no shadow", func(m fstest.MapFS) {
			write("etc/passwd", "root:x:0:0::/root:/bin/sh\nopen::5:5::/:/bin/sh\n")(m)
			delete(m, "etc/shadow")
		}, "", "accounts.empty_passwords", Fail, "open (passwd)"},
		{"no empty hashes", nothing, "", "accounts.empty_passwords", Pass, "none empty"},
		{"no auditd", remove("usr/sbin/auditd"), "", "audit.auditd_installed", Fail, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.change(m)
			c := run(m, tt.path)[tt.id]
			if c.Result != tt.result {
				t.Fatalf("%s = %s (actual %q, reason %q), want %s", tt.id, c.Result, c.Actual, c.Reason, tt.result)
			}
			where := c.Actual
			if tt.result == Error {
				where = c.Reason
			}
			if !strings.Contains(where, tt.actual) {
				t.Fatalf("%s: %q does not contain %q", tt.id, where, tt.actual)
			}
		})
	}
}

// TestUnreadableIsError: files the agent cannot read make Errors with the
// reason, never a Pass.
func TestUnreadableIsError(t *testing.T) {
	for file, ids := range map[string][]string{
		"etc/shadow":          {"accounts.empty_passwords", "fs.shadow_permissions"},
		"etc/ssh/sshd_config": {"ssh.permit_root_login", "ssh.password_authentication", "ssh.permit_empty_passwords", "ssh.max_auth_tries", "ssh.x11_forwarding", "ssh.protocol"},
		"etc/passwd":          {"accounts.uid0_only_root", "accounts.empty_passwords", "fs.passwd_permissions"},
		"usr/sbin/auditd":     {"audit.auditd_installed"},
	} {
		checks := run(deniedFS{good(), file}, "")
		for _, id := range ids {
			if c := checks[id]; c.Result != Error || !strings.Contains(c.Reason, "permission denied") {
				t.Errorf("%s unreadable: %s = %s (%q)", file, id, c.Result, c.Reason)
			}
		}
	}
}

func TestReportSortedAndProblems(t *testing.T) {
	m := good()
	sshd("PermitRootLogin\nMaxAuthTries 3\n")(m)
	rep := Run(hostfs.Root{FS: m}, Options{})
	var ids []string
	for _, c := range rep.Checks {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff(IDs(), ids); diff != "" {
		t.Fatal(diff)
	}
	want := []hostfs.Problem{{File: "etc/ssh/sshd_config", Line: 1, Reason: `"PermitRootLogin": missing argument`}}
	if diff := cmp.Diff(want, rep.Problems); diff != "" {
		t.Fatal(diff)
	}
}

func TestParseShadowLine(t *testing.T) {
	for line, want := range map[string][2]string{
		"root:*:19700:0:99999:7:::": {"root", "*"},
		"guest::1::::::":            {"guest", ""},
		"x:$6$a:b:c":                {"x", "$6$a"},
	} {
		n, h, err := ParseShadowLine(line)
		if err != nil || n != want[0] || h != want[1] {
			t.Errorf("%q: %q %q %v", line, n, h, err)
		}
	}
	for _, bad := range []string{"", "# c", "root", "root:x", ":x:1"} {
		if _, _, err := ParseShadowLine(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseShadowLine(f *testing.F) {
	f.Add("root:*:19700:0:99999:7:::")
	f.Add("guest::1::::::")
	f.Fuzz(func(t *testing.T, line string) {
		n, _, err := ParseShadowLine(line)
		if err == nil && n == "" {
			t.Fatalf("%q: empty name accepted", line)
		}
	})
}

func nothing(fstest.MapFS) {}

func sshd(config string) func(fstest.MapFS) {
	return write("etc/ssh/sshd_config", config)
}

func write(name, data string) func(fstest.MapFS) {
	return func(m fstest.MapFS) {
		f := *m[name]
		f.Data = []byte(data)
		m[name] = &f
	}
}

func remove(name string) func(fstest.MapFS) {
	return func(m fstest.MapFS) { delete(m, name) }
}

func perm(name string, mode fs.FileMode) func(fstest.MapFS) {
	return func(m fstest.MapFS) { m[name].Mode = mode }
}

// owner sets the owner uid; -1 removes owner information.
func owner(name string, uid int) func(fstest.MapFS) {
	return func(m fstest.MapFS) {
		if uid < 0 {
			m[name].Sys = nil
			return
		}
		m[name].Sys = hostfs.Ownership{UID: uint32(uid)}
	}
}
