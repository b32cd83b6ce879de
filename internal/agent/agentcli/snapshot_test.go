package agentcli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
	"github.com/moatsec/moat/secmsg"
)

func TestSnapshotPrint(t *testing.T) {
	f, err := snapshottest.Open(snapshottest.IoTDevice)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := f.Materialize(root); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"snapshot", "--print", "--root", root, "--firewall-file", f.FirewallFile, "--little-endian-proc"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	m, err := secmsg.Parse(out.Bytes())
	if err != nil {
		t.Fatalf("output is not a valid security message: %v\n%s", err, out.String())
	}
	var names []string
	for _, ev := range m.Events {
		names = append(names, ev.Name)
	}
	if got := strings.Join(names, ","); got != "ListeningPorts,FirewallConfiguration,LocalUsers,OSBaseline,SystemInformation" {
		t.Errorf("events %s", got)
	}

	// Without a firewall source (commands are not run for another root),
	// the firewall is left out with a message, the rest is printed.
	out.Reset()
	errb.Reset()
	if code := Main([]string{"snapshot", "--print", "--root", root, "--little-endian-proc"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "FirewallConfiguration left out") {
		t.Errorf("stderr: %s", errb.String())
	}
	if m, err := secmsg.Parse(out.Bytes()); err != nil || len(m.Events) != 4 {
		t.Errorf("without the firewall: %v, %d events", err, len(m.Events))
	}
	if code := Main([]string{"snapshot"}, &out, &errb); code == 0 {
		t.Error("snapshot without --print succeeded")
	}
}
