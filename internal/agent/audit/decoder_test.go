package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// decodeAll feeds every line of data to a decoder and flushes it.
func decodeAll(t testing.TB, d *Decoder, data []byte) []Event {
	t.Helper()
	var out []Event
	for _, line := range splitLines(data) {
		out = d.Line(out, line)
	}
	return d.Flush(out)
}

// splitLines splits on '\n' without a size limit (the decoder enforces it).
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i])
		data = data[i+1:]
	}
	return lines
}

// tagged wraps events with their kind for golden files.
func tagged(evs []Event) []taggedEvent {
	out := make([]taggedEvent, len(evs))
	for i, ev := range evs {
		out[i] = taggedEvent{Kind: ev.Kind(), Event: ev}
	}
	return out
}

type taggedEvent struct {
	Kind  Kind  `json:"kind"`
	Event Event `json:"event"`
}

func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestDecodeFixtureGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(DecoderConfig{})
	evs := decodeAll(t, d, data)
	golden(t, "audit.log.golden.json", tagged(evs))

	st := d.Stats()
	wantSkips := map[SkipReason]uint64{
		SkipNoType:      2, // prose, binary junk
		SkipUnknownType: 1,
		SkipBadHeader:   2, // type=SYSCALL without msg=audit(, audit(abc.def:xyz)
		SkipTooLong:     1,
		SkipNoResult:    1, // the truncated last line
	}
	if diff := cmp.Diff(wantSkips, st.Skipped); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
	if st.Expired != 1 {
		t.Errorf("Expired = %d, want 1 (the execve without EOE)", st.Expired)
	}
}

// TestDecodeFixtureEvents states the fixture's key facts independently of
// the golden file.
func TestDecodeFixtureEvents(t *testing.T) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	evs := decodeAll(t, NewDecoder(DecoderConfig{}), data)

	var failed, logins int
	var procs []*ProcessCreate
	var conns []*ConnectionCreate
	var exits []*ProcessTerminate
	for _, ev := range evs {
		switch e := ev.(type) {
		case *Login:
			logins++
			if e.RecordType == "USER_AUTH" && e.Result == ResultFailure && e.RemoteAddr == "203.0.113.7" {
				failed++
			}
		case *ProcessCreate:
			procs = append(procs, e)
		case *ConnectionCreate:
			conns = append(conns, e)
		case *ProcessTerminate:
			exits = append(exits, e)
		}
	}
	if failed != 3 {
		t.Errorf("failed USER_AUTH from 203.0.113.7 = %d, want 3", failed)
	}
	if logins != 9 {
		t.Errorf("logins = %d, want 9", logins)
	}

	wantProc := &ProcessCreate{
		Header:      Header{Time: time.Unix(1700000020, 500e6).UTC(), Serial: 2001},
		Executable:  "/tmp/x",
		CommandLine: `/tmp/x 'hello world' 'it'\''s' Grüße`,
		Args:        []string{"/tmp/x", "hello world", "it's", "Grüße"},
		CWD:         "/home/alice",
		PID:         2455, PPID: 2410, UID: 1000, EUID: 0, AUID: 1000,
		User: "alice", AuditUser: "alice", Comm: "x", Syscall: "execve",
	}
	if len(procs) != 3 {
		t.Fatalf("ProcessCreate events = %d, want 3", len(procs))
	}
	if diff := cmp.Diff(wantProc, procs[0]); diff != "" {
		t.Errorf("execve of /tmp/x (-want +got):\n%s", diff)
	}
	if got, want := procs[1].Args[2], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA BBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"; got != want {
		t.Errorf("chunked argument = %q, want %q", got, want)
	}

	wantConns := []*ConnectionCreate{{
		Header:    Header{Time: time.Unix(1700000020, 501e6).UTC(), Serial: 2002},
		Direction: DirectionOut, Family: "ipv4", RemoteIP: "10.0.0.5", RemotePort: 443,
		Executable: "/usr/bin/telemetryd", Comm: "telemetryd", PID: 812, PPID: 1,
		UID: 998, AUID: Unknown, User: "telemetry", Syscall: "connect",
	}, {
		Header:    Header{Time: time.Unix(1700000034, 0).UTC(), Serial: 2104},
		Direction: DirectionOut, Family: "ipv6", RemoteIP: "2001:db8::1", RemotePort: 8883, Pending: true,
		Executable: "/opt/vendor/mqttc", Comm: "mqttc", PID: 1300, PPID: 1,
		UID: 0, AUID: Unknown, Syscall: "connect",
	}, {
		Header:    Header{Time: time.Unix(1700000035, 0).UTC(), Serial: 2105},
		Direction: DirectionIn, Family: "ipv4", RemoteIP: "192.0.2.10", RemotePort: 51234,
		Executable: "/usr/sbin/sshd", Comm: "sshd", PID: 700, PPID: 1,
		UID: 0, AUID: Unknown, Syscall: "accept4",
	}}
	if diff := cmp.Diff(wantConns, conns); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
	if len(exits) != 1 || exits[0].ExitCode != 3 || exits[0].PID != 1400 {
		t.Errorf("ProcessTerminate = %+v, want one with pid 1400 and exit code 3", exits)
	}
}

// TestDecodeLinesOfAnySize: the decoder itself enforces MaxLineBytes.
func TestDecodeTooLong(t *testing.T) {
	d := NewDecoder(DecoderConfig{MaxLineBytes: 100})
	line := []byte("type=USER_AUTH msg=audit(1700000000.000:1): pid=1 uid=0 auid=0 ses=1 msg='op=PAM:authentication acct=\"root\" exe=\"/usr/sbin/sshd\" addr=192.0.2.1 res=failed'")
	if evs := d.Line(nil, line); len(evs) != 0 {
		t.Errorf("got %d events from an over-long line", len(evs))
	}
	if got := d.Stats().Skipped[SkipTooLong]; got != 1 {
		t.Errorf("SkipTooLong = %d, want 1", got)
	}
	if evs := NewDecoder(DecoderConfig{}).Line(nil, line); len(evs) != 1 {
		t.Errorf("got %d events from the same line with the default limit, want 1", len(evs))
	}
}
