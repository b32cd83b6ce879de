package baseline

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

func TestParseSSHDLine(t *testing.T) {
	tests := []struct {
		line string
		kw   string
		args []string
		err  string
	}{
		{"PermitRootLogin yes", "permitrootlogin", []string{"yes"}, ""},
		{"  MaxAuthTries\t3  ", "maxauthtries", []string{"3"}, ""},
		{"MaxAuthTries=3", "maxauthtries", []string{"3"}, ""},
		{"MaxAuthTries = 3", "maxauthtries", []string{"3"}, ""},
		{`Banner "/etc/issue net"`, "banner", []string{"/etc/issue net"}, ""},
		{"AcceptEnv LANG LC_* # trailing comment", "acceptenv", []string{"LANG", "LC_*"}, ""},
		{"Match User a b", "match", []string{"User", "a", "b"}, ""},
		{"# PermitRootLogin yes", "", nil, "blank"},
		{"   ", "", nil, "blank"},
		{"PermitRootLogin", "", nil, "missing argument"},
		{"PermitRootLogin # c", "", nil, "missing argument"},
		{`Banner "open`, "", nil, "unterminated quote"},
		{"Permit-Root yes", "", nil, "not alphanumeric"},
		{"=yes", "", nil, "empty"},
		{strings.Repeat("K", 65) + " v", "", nil, "too long"},
	}
	for _, tt := range tests {
		kw, args, err := ParseSSHDLine(tt.line)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || kw != tt.kw || !cmp.Equal(args, tt.args) {
			t.Errorf("%q: got %q %q %v", tt.line, kw, args, err)
		}
	}
}

func files(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

func TestReadSSHDConfig(t *testing.T) {
	m := files(
		"etc/ssh/sshd_config", `# first value wins
Include sshd_config.d/*.conf
PermitRootLogin yes
X11Forwarding yes
Match Address 10.0.0.0/8
	PasswordAuthentication yes
	Include /etc/ssh/conditional/*.conf
Match all
MaxAuthTries 9
`,
		"etc/ssh/sshd_config.d/20-b.conf", "PermitRootLogin prohibit-password\nMaxAuthTries 2\n",
		"etc/ssh/sshd_config.d/10-a.conf", "PermitRootLogin no\nMatch User x\nX11Forwarding no\n",
		"etc/ssh/sshd_config.d/README", "PermitRootLogin yes\n",
		"etc/ssh/conditional/x.conf", "PermitEmptyPasswords yes\n",
	)
	m["etc/ssh/sshd_config.d/dir.conf"] = &fstest.MapFile{Mode: fs.ModeDir | 0o755} // a directory matching the glob
	c, err := ReadSSHDConfig(hostfs.Root{FS: m}, SSHDConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Setting{
		"permitrootlogin": {"no", "etc/ssh/sshd_config.d/10-a.conf", 1},
		// The Match in 10-a.conf ends with that file: X11Forwarding of
		// the main file is global.
		"x11forwarding": {"yes", "etc/ssh/sshd_config", 4},
		"maxauthtries":  {"2", "etc/ssh/sshd_config.d/20-b.conf", 2},
	}
	if diff := cmp.Diff(want, c.Values); diff != "" {
		t.Fatalf("-want +got:\n%s", diff)
	}
	wantFiles := []string{"etc/ssh/sshd_config", "etc/ssh/sshd_config.d/10-a.conf", "etc/ssh/sshd_config.d/20-b.conf"}
	if diff := cmp.Diff(wantFiles, c.Files); diff != "" {
		t.Fatal(diff)
	}
	if s, ok := c.Get("PERMITROOTLOGIN"); !ok || s.Value != "no" {
		t.Fatal("Get is not case-insensitive")
	}
}

func TestReadSSHDConfigMatchAll(t *testing.T) {
	m := files("etc/ssh/sshd_config", "Match User a\nPermitRootLogin yes\nMatch all\nPermitRootLogin no\n")
	c, err := ReadSSHDConfig(hostfs.Root{FS: m}, SSHDConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Get("PermitRootLogin"); s.Value != "no" || s.Line != 4 {
		t.Fatalf("got %+v", s)
	}
}

func TestReadSSHDConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		m    fstest.MapFS
		want string
	}{
		{"missing", fstest.MapFS{}, "file does not exist"},
		{"loop", files("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config\n"), "Include loop"},
		{"deep", deepIncludes(20), "nested deeper"},
		{"bad glob", files("etc/ssh/sshd_config", "Include [\n"), "syntax error in pattern"},
		{"too large", files("etc/ssh/sshd_config", "Include big\n", "etc/ssh/big", strings.Repeat("#", 100)), "read cap"},
	}
	for _, tt := range tests {
		_, err := ReadSSHDConfig(hostfs.Root{FS: tt.m, MaxFileSize: 64}, SSHDConfigFile)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	// A glob matching nothing is fine, as for sshd.
	if _, err := ReadSSHDConfig(hostfs.Root{FS: files("etc/ssh/sshd_config", "Include none/*.conf\n")}, SSHDConfigFile); err != nil {
		t.Errorf("empty glob: %v", err)
	}
	// An unreadable included file is an error: it may hold the value.
	denied := deniedFS{files("etc/ssh/sshd_config", "Include x.conf\n", "etc/ssh/x.conf", "PermitRootLogin yes\n"), "etc/ssh/x.conf"}
	if _, err := ReadSSHDConfig(hostfs.Root{FS: denied}, SSHDConfigFile); !errors.Is(err, errDenied) {
		t.Errorf("denied include: err = %v", err)
	}
}

func deepIncludes(n int) fstest.MapFS {
	m := fstest.MapFS{"etc/ssh/sshd_config": {Data: []byte("Include f0\n")}}
	for i := 0; i < n; i++ {
		m["etc/ssh/f"+strconv.Itoa(i)] = &fstest.MapFile{Data: []byte("Include f" + strconv.Itoa(i+1) + "\n")}
	}
	return m
}

func TestReadSSHDConfigProblems(t *testing.T) {
	m := files("etc/ssh/sshd_config", "PermitRootLogin\nBanner \"x\nPermitRootLogin no\n")
	c, err := ReadSSHDConfig(hostfs.Root{FS: m}, SSHDConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Problems) != 2 || c.Problems[0].Line != 1 || c.Problems[1].Line != 2 {
		t.Fatalf("problems %+v", c.Problems)
	}
	if s, _ := c.Get("permitrootlogin"); s.Value != "no" {
		t.Fatal("bad line stopped the parse")
	}
}

func FuzzParseSSHDLine(f *testing.F) {
	for _, s := range []string{"PermitRootLogin yes", "MaxAuthTries=3", `Banner "a b"`, "Match User x", "# c", `X "`, "A = = b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		kw, args, err := ParseSSHDLine(line)
		if err != nil {
			return
		}
		if kw == "" || len(args) == 0 || kw != strings.ToLower(kw) {
			t.Fatalf("%q: accepted as %q %q", line, kw, args)
		}
	})
}

func FuzzReadSSHDConfig(f *testing.F) {
	f.Add([]byte("Include sshd_config.d/*.conf\nPermitRootLogin yes\nMatch User a\nX11Forwarding yes\n"), []byte("PermitRootLogin no\nMatch all\n"))
	f.Fuzz(func(t *testing.T, main, inc []byte) {
		m := fstest.MapFS{
			"etc/ssh/sshd_config":          {Data: main},
			"etc/ssh/sshd_config.d/a.conf": {Data: inc},
			"etc/ssh/sshd_config.d/b.conf": {Data: main},
		}
		c, err := ReadSSHDConfig(hostfs.Root{FS: m}, SSHDConfigFile)
		if err != nil {
			return
		}
		if len(c.Problems) > maxProblems {
			t.Fatalf("%d problems", len(c.Problems))
		}
	})
}
