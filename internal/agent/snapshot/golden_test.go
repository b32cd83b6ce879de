package snapshot_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent/snapshot"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var fixedNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// options snapshot a fixture tree the way the golden files were made.
func options(t testing.TB, f *snapshottest.Fixture) snapshot.Options {
	t.Helper()
	m, err := f.MapFS()
	if err != nil {
		t.Fatal(err)
	}
	return snapshot.Options{
		FS:        m,
		Arch:      f.Arch,
		ByteOrder: binary.LittleEndian,
		Firewall:  firewall.Options{File: f.FirewallFile},
		Now:       func() time.Time { return fixedNow },
	}
}

func collect(t testing.TB, opts snapshot.Options) snapshot.Snapshot {
	t.Helper()
	s := snapshot.New(opts).Collect(context.Background())
	// The firewall source names a path on this machine.
	s.Firewall.Source = "file " + filepath.Base(opts.Firewall.File)
	return s
}

func fixture(t testing.TB, name string) *snapshottest.Fixture {
	t.Helper()
	f, err := snapshottest.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// golden compares v, as indented JSON, with testdata/golden/name, or
// rewrites it under -update.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

func TestGoldenSnapshots(t *testing.T) {
	for _, name := range snapshottest.Names() {
		t.Run(name, func(t *testing.T) {
			s := collect(t, options(t, fixture(t, name)))
			golden(t, name+".json", s)
		})
	}
}

// TestGoldenDelta: what the agent would send when a good device turns into
// the bad one.
func TestGoldenDelta(t *testing.T) {
	good := collect(t, options(t, fixture(t, snapshottest.IoTDevice)))
	bad := collect(t, options(t, fixture(t, snapshottest.BadDevice)))
	golden(t, "iotdevice-to-baddevice.delta.json", snapshot.DiffAll(good, bad))
}

// TestFixtureExpectations pins what the fixtures are for, independently
// of the golden files (which -update would accept blindly).
func TestFixtureExpectations(t *testing.T) {
	good := collect(t, options(t, fixture(t, snapshottest.IoTDevice)))
	bad := collect(t, options(t, fixture(t, snapshottest.BadDevice)))

	ports := map[string]string{}
	for _, l := range good.Ports.Listeners {
		ports[l.Key()] = l.Comm
	}
	wantPorts := map[string]string{
		"tcp 0.0.0.0:22": "sshd", "tcp6 [::]:22": "sshd", "tcp 0.0.0.0:8883": "telemetryd",
		"tcp 127.0.0.1:8080": "telemetryd", "udp 0.0.0.0:5353": "avahi-daemon", "udp6 [::]:5353": "avahi-daemon",
		"udp 0.0.0.0:41234": "avahi-daemon", "udp 0.0.0.0:68": "dhclient",
	}
	if diff := cmp.Diff(wantPorts, ports); diff != "" {
		t.Errorf("iotdevice ports -want +got:\n%s", diff)
	}
	if good.Firewall.Status != firewall.StatusFiltering || good.Firewall.InputPolicy != "drop" {
		t.Errorf("iotdevice firewall %s/%s", good.Firewall.Status, good.Firewall.InputPolicy)
	}
	if bad.Firewall.Status != firewall.StatusOpen {
		t.Errorf("baddevice firewall %s", bad.Firewall.Status)
	}
	failed := func(s snapshot.Snapshot) []string {
		var ids []string
		for _, c := range s.Baseline.Checks {
			if c.Result != "Pass" {
				ids = append(ids, c.ID+"="+string(c.Result))
			}
		}
		return ids
	}
	if f := failed(good); len(f) != 0 {
		t.Errorf("iotdevice fails %v", f)
	}
	wantBad := []string{
		"accounts.empty_passwords=Fail", "accounts.uid0_only_root=Fail", "audit.auditd_installed=Fail",
		"fs.path_world_writable=Fail", "fs.shadow_permissions=Fail", "kernel.randomize_va_space=Fail",
		"net.ip_forward=Fail", "ssh.max_auth_tries=Fail", "ssh.password_authentication=Fail",
		"ssh.permit_root_login=Fail", "ssh.protocol=Fail", "ssh.x11_forwarding=Fail",
	}
	if diff := cmp.Diff(wantBad, failed(bad)); diff != "" {
		t.Errorf("baddevice failures -want +got:\n%s", diff)
	}
	for _, s := range []snapshot.Snapshot{good} {
		if n := len(s.Ports.Problems) + len(s.Users.Problems) + len(s.System.Problems) + len(s.Firewall.Problems) + len(s.Baseline.Problems); n != 0 {
			t.Errorf("iotdevice has %d problems", n)
		}
	}
	if len(bad.Ports.Problems) != 2 || len(bad.Users.Problems) != 1 {
		t.Errorf("baddevice problems: ports %v users %v", bad.Ports.Problems, bad.Users.Problems)
	}
}

// TestMaterializedTree: the same tree written to disk and read through
// os.DirFS gives the same snapshot. Owners can only be set as root.
func TestMaterializedTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the fixture files their owners")
	}
	for _, name := range snapshottest.Names() {
		t.Run(name, func(t *testing.T) {
			f := fixture(t, name)
			dir := t.TempDir()
			if err := f.Materialize(dir); err != nil {
				t.Fatal(err)
			}
			opts := options(t, f)
			fromMap := collect(t, opts)
			opts.FS, opts.Root = nil, dir
			fromDisk := collect(t, opts)
			if diff := cmp.Diff(fromMap, fromDisk); diff != "" {
				t.Errorf("disk differs from memory -map +disk:\n%s", diff)
			}
		})
	}
}

// TestRootOptionDoesNotRunCommands: a root other than "/" never runs nft
// or iptables-save (they would describe this host, not the tree).
func TestRootOptionDoesNotRunCommands(t *testing.T) {
	s := snapshot.New(snapshot.Options{Root: t.TempDir()}).Firewall(context.Background())
	if s.Status != firewall.StatusUnknown || len(s.Problems) != 1 {
		t.Fatalf("got %+v", s)
	}
}

// TestMaxFileSize: the cap reaches every collector.
func TestMaxFileSize(t *testing.T) {
	opts := options(t, fixture(t, snapshottest.IoTDevice))
	opts.MaxFileSize = 64
	s := collect(t, opts)
	if len(s.Users.Users) != 0 || len(s.Ports.Listeners) != 0 || s.Firewall.Status != firewall.StatusUnknown {
		t.Fatalf("cap not applied: %d users, %d listeners, firewall %s", len(s.Users.Users), len(s.Ports.Listeners), s.Firewall.Status)
	}
	for _, c := range s.Baseline.Checks {
		if c.ID == "ssh.permit_root_login" && c.Result != "Error" {
			t.Fatalf("sshd_config over the cap: %s", c.Result)
		}
	}
}
