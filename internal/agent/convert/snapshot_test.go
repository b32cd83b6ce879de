package convert

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/moatsec/moat/internal/agent/snapshot"
	"github.com/moatsec/moat/internal/agent/snapshot/firewall"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
	"github.com/moatsec/moat/secmsg"
)

func fixtureSource(t *testing.T, name string) Snapshots {
	t.Helper()
	f, err := snapshottest.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := f.MapFS()
	if err != nil {
		t.Fatal(err)
	}
	return Snapshots{C: snapshot.New(snapshot.Options{FS: fsys, Arch: f.Arch, ByteOrder: binary.LittleEndian,
		Firewall: firewall.Options{File: f.FirewallFile}})}
}

func items(t *testing.T, s Snapshots, name string) map[string]Signed {
	t.Helper()
	its, err := s.Items(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	valid(t, its...)
	m := map[string]Signed{}
	for _, it := range its {
		m[it.Key()] = Signed{Item: it, Sig: Signature(it)}
	}
	return m
}

// TestFixtureSnapshotsConvert: both fixture devices convert to items the hub
// accepts, and the difference from the typical device to the neglected one
// shows what a detection needs: the extra uid-0 user, the accept policy and
// the failed checks.
func TestFixtureSnapshotsConvert(t *testing.T) {
	good, bad := fixtureSource(t, snapshottest.IoTDevice), fixtureSource(t, snapshottest.BadDevice)
	names := []string{secmsg.NameListeningPorts, secmsg.NameFirewallConfiguration, secmsg.NameLocalUsers, secmsg.NameOSBaseline, secmsg.NameSystemInformation}
	for _, name := range names {
		g := items(t, good, name)
		if len(g) == 0 {
			t.Errorf("%s: no items for the typical device", name)
		}
		if again := items(t, good, name); len(Diff(g, again)) != 0 {
			t.Errorf("%s: two snapshots of an unchanged device differ: %v", name, Diff(g, again))
		}
	}
	users := Diff(items(t, good, secmsg.NameLocalUsers), items(t, bad, secmsg.NameLocalUsers))
	foundRoot2 := false
	for _, it := range users {
		u := it.(secmsg.LocalUser)
		if u.Change == secmsg.ChangeAdded && u.UserID == 0 && u.UserName != "root" {
			foundRoot2 = true
		}
	}
	if !foundRoot2 {
		t.Errorf("the bad device's extra uid-0 user is not an Added LocalUser: %+v", users)
	}
	var policyAccept, failing bool
	for _, it := range items(t, bad, secmsg.NameFirewallConfiguration) {
		r := it.Item.(secmsg.FirewallRule)
		if r.IsDefaultPolicy && r.Hook == "input" && r.Action == secmsg.ActionAllow {
			policyAccept = true
		}
	}
	for _, it := range items(t, bad, secmsg.NameOSBaseline) {
		if c := it.Item.(secmsg.BaselineCheck); c.Result == secmsg.CheckFail && c.CheckID != "" {
			failing = true
		}
	}
	if !policyAccept || !failing {
		t.Errorf("bad device: input policy accept %v, failing baseline checks %v", policyAccept, failing)
	}
}
