package sim

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/moatsec/moat/internal/agent/upload"
	"github.com/moatsec/moat/secmsg"
)

// maxMessage is the agent's default packing size: events go into security
// messages of at most this many bytes of JSON.
const maxMessage = 4096

// localUsers are the simulated device's accounts; a login attempt for any
// other name is an InvalidUser.
var localUsers = []secmsg.LocalUser{
	{UserName: "root", UserID: 0, GroupID: 0, HomeDirectory: "/root", Shell: "/bin/bash", GroupNames: []string{"root"}},
	{UserName: "pi", UserID: 1000, GroupID: 1000, HomeDirectory: "/home/pi", Shell: "/bin/bash", GroupNames: []string{"pi", "sudo"}},
	{UserName: "iot", UserID: 1001, GroupID: 1001, HomeDirectory: "/home/iot", Shell: "/usr/sbin/nologin", GroupNames: []string{"iot"}},
}

// bruteForceUsers are the names an SSH brute force tries, in turn.
var bruteForceUsers = []string{"root", "admin", "pi", "ubuntu", "user", "test", "oracle", "guest"}

func isLocalUser(name string) bool {
	for _, u := range localUsers {
		if u.UserName == name {
			return true
		}
	}
	return false
}

// snapshots returns the five Full snapshots a device sends at start.
func snapshots(deviceID string, now, boot time.Time) []secmsg.Event {
	ports := []secmsg.Item{
		secmsg.ListeningPort{Protocol: secmsg.ProtocolTCP, LocalAddress: "0.0.0.0", LocalPort: 22, ProcessID: 612, Executable: "/usr/sbin/sshd"},
		secmsg.ListeningPort{Protocol: secmsg.ProtocolTCP, LocalAddress: "0.0.0.0", LocalPort: 1883, ProcessID: 655, Executable: "/usr/sbin/mosquitto"},
		secmsg.ListeningPort{Protocol: secmsg.ProtocolUDP, LocalAddress: "0.0.0.0", LocalPort: 5353, ProcessID: 402, Executable: "/usr/sbin/avahi-daemon"},
	}
	fw := []secmsg.Item{
		secmsg.FirewallRule{Backend: secmsg.BackendNftables, Family: secmsg.FamilyInet, Table: "filter", ChainName: "input",
			Hook: secmsg.HookInput, IsDefaultPolicy: true, Action: secmsg.ActionDeny, Enabled: true},
		secmsg.FirewallRule{Backend: secmsg.BackendNftables, Family: secmsg.FamilyInet, Table: "filter", ChainName: "input",
			Hook: secmsg.HookInput, Action: secmsg.ActionAllow, Protocol: "tcp", DestinationPort: "22", Direction: secmsg.DirectionIn,
			Enabled: true, Raw: "tcp dport 22 accept"},
		secmsg.FirewallRule{Backend: secmsg.BackendNftables, Family: secmsg.FamilyInet, Table: "filter", ChainName: "input",
			Hook: secmsg.HookInput, Action: secmsg.ActionAllow, Direction: secmsg.DirectionIn,
			Enabled: true, Raw: "ct state established,related accept"},
	}
	users := make([]secmsg.Item, len(localUsers))
	for i, u := range localUsers {
		users[i] = u
	}
	baseline := []secmsg.Item{
		secmsg.BaselineCheck{CheckID: "ssh.permit_root_login", Description: "SSH does not allow root to log in with a password",
			Result: secmsg.CheckPass, Severity: secmsg.SeverityHigh, Expected: "no or prohibit-password", Actual: "prohibit-password (default)"},
		secmsg.BaselineCheck{CheckID: "ssh.permit_empty_passwords", Description: "SSH refuses empty passwords",
			Result: secmsg.CheckPass, Severity: secmsg.SeverityCritical, Expected: "no", Actual: "no (default)"},
		secmsg.BaselineCheck{CheckID: "accounts.uid0_only_root", Description: "root is the only account with UID 0",
			Result: secmsg.CheckPass, Severity: secmsg.SeverityCritical, Expected: "root", Actual: "root"},
		secmsg.BaselineCheck{CheckID: "ssh.password_authentication", Description: "SSH accepts keys only",
			Result: secmsg.CheckFail, Severity: secmsg.SeverityMedium, Expected: "no", Actual: "yes (default)",
			Remediation: "set PasswordAuthentication no in /etc/ssh/sshd_config and reload sshd"},
	}
	sys := secmsg.SystemInformation{OSName: "Debian GNU/Linux", OSVersion: "12", KernelVersion: "6.6.31+rpt-rpi-v8",
		HostName: deviceID, Architecture: "aarch64", Model: "Raspberry Pi 4 Model B Rev 1.5",
		TotalPhysicalMemoryInKB: 3884328, FreePhysicalMemoryInKB: 2911204, BootTime: secmsg.FormatTime(boot)}
	out := []secmsg.Event{
		secmsg.NewEvent(secmsg.NameListeningPorts, now, ports...),
		secmsg.NewEvent(secmsg.NameFirewallConfiguration, now, fw...),
		secmsg.NewEvent(secmsg.NameLocalUsers, now, users...),
		secmsg.NewEvent(secmsg.NameOSBaseline, now, baseline...),
		secmsg.NewEvent(secmsg.NameSystemInformation, now, sys),
	}
	for i := range out {
		out[i].SnapshotMode = secmsg.SnapshotFull
	}
	return out
}

// failedLogin is a failed SSH password login from addr as the agent reports
// it once aggregated (ProcessId and RemotePort cleared).
func failedLogin(user, addr string) secmsg.Login {
	return secmsg.Login{Operation: secmsg.OperationLogin, Result: secmsg.ResultFail, UserName: user,
		Executable: "/usr/sbin/sshd", RemoteAddress: addr, LocalPort: 22, AuthMethod: secmsg.AuthPassword,
		InvalidUser: !isLocalUser(user), Source: secmsg.SourceAuthLog}
}

// successLogin is the attacker's successful login as pi.
func successLogin(addr string, at time.Time) secmsg.Login {
	l := secmsg.Login{Operation: secmsg.OperationLogin, Result: secmsg.ResultSuccess, UserName: "pi",
		Executable: "/usr/sbin/sshd", RemoteAddress: addr, LocalPort: 22, AuthMethod: secmsg.AuthPassword, Source: secmsg.SourceAuthLog}
	l.FirstSeen, l.LastSeen = secmsg.FormatTime(at), secmsg.FormatTime(at)
	return l
}

// agentID derives a stable AgentId (a UUID) from the device ID, so that a
// device keeps its agent across runs.
func agentID(deviceID string) string {
	sum := sha256.Sum256([]byte("moat-sim/" + deviceID))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// encoder builds a device's security requests as moat-agent does: events
// packed into messages of at most maxMessage bytes, one message as a plain
// body or several as a batch, gzip-compressed, marked as security messages.
type encoder struct {
	version, agent string
	envelope       []byte // `{"AgentVersion":…,"Events":[`
	gzip           *sync.Pool
}

func newEncoder(version, agent string, zp *sync.Pool) (*encoder, error) {
	env, err := json.Marshal(struct {
		AgentVersion         string `json:"AgentVersion"`
		AgentID              string `json:"AgentId"`
		MessageSchemaVersion string `json:"MessageSchemaVersion"`
	}{version, agent, secmsg.SchemaVersion})
	if err != nil {
		return nil, err
	}
	return &encoder{version: version, agent: agent, envelope: append(env[:len(env)-1], `,"Events":[`...), gzip: zp}, nil
}

// request is one encoded send.
type request struct {
	body     []byte
	header   http.Header
	messages int // security messages in it (0 for telemetry)
	events   int
}

// security encodes events into one request.
func (e *encoder) security(events []secmsg.Event) (request, error) {
	var msgs [][]byte
	var cur []byte
	n := 0
	for _, ev := range events {
		data, err := upload.Encode(e.version, e.agent, ev)
		if err != nil {
			return request{}, fmt.Errorf("sim: encode %s: %w", ev.Name, err)
		}
		if n > 0 && len(cur)+1+len(data)+2 > maxMessage {
			msgs, cur, n = append(msgs, append(cur, "]}"...)), nil, 0
		}
		if n == 0 {
			cur = append(append([]byte{}, e.envelope...), data...)
		} else {
			cur = append(append(cur, ','), data...)
		}
		n++
	}
	if n > 0 {
		msgs = append(msgs, append(cur, "]}"...))
	}
	if len(msgs) == 0 {
		return request{}, fmt.Errorf("sim: no events to send")
	}
	h := http.Header{"Content-Encoding": {"gzip"}}
	var raw []byte
	if len(msgs) == 1 {
		raw = msgs[0]
		h.Set("Content-Type", "application/json")
		h.Set(upload.InterfaceIDHeader, upload.SecurityAgentID)
	} else {
		type item struct {
			Body           string            `json:"Body"`
			UserProperties map[string]string `json:"UserProperties"`
		}
		props := map[string]string{upload.InterfaceIDHeader: upload.SecurityAgentID}
		batch := make([]item, len(msgs))
		for i, m := range msgs {
			batch[i] = item{Body: string(m), UserProperties: props}
		}
		var err error
		if raw, err = json.Marshal(batch); err != nil {
			return request{}, err
		}
		h.Set("Content-Type", upload.BatchContentType)
	}
	var z bytes.Buffer
	zw := e.gzip.Get().(*gzip.Writer)
	defer e.gzip.Put(zw)
	zw.Reset(&z)
	_, _ = zw.Write(raw)
	if err := zw.Close(); err != nil {
		return request{}, err
	}
	return request{body: z.Bytes(), header: h, messages: len(msgs), events: len(events)}, nil
}

// newGzipPool returns a pool of compressors for encoders to share: a new
// one allocates most of a megabyte.
func newGzipPool() *sync.Pool {
	return &sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
}

// telemetry is one telemetry event: unmarked JSON, as a device's own
// application would send it.
func telemetry(deviceID string, seq int64, now time.Time, temp, humidity float64) request {
	b, _ := json.Marshal(struct {
		Device      string  `json:"deviceId"`
		Seq         int64   `json:"seq"`
		Time        string  `json:"time"`
		Temperature float64 `json:"temperature"`
		Humidity    float64 `json:"humidity"`
	}{deviceID, seq, now.UTC().Format(time.RFC3339Nano), temp, humidity})
	return request{body: b, header: http.Header{"Content-Type": {"application/json"}}, events: 1}
}
