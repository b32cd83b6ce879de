// Package agenttest starts a real Moat server with a registered device for
// the agent's tests, and reads back what the agent delivered to the hub's
// security stream. Only tests import it (it imports the server).
package agenttest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/snapshot/snapshottest"
	"github.com/moatsec/moat/internal/device"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/internal/server"
	"github.com/moatsec/moat/secmsg"
)

// Env is a server, a hub "fleet" and a device "dev-1" with its key.
type Env struct {
	S      *moattest.Server
	Hub    string
	Device string
	Key    string
	tls    bool
}

// Start starts the server (plain HTTP) and registers the device.
func Start(t testing.TB) *Env { return start(t, false) }

// StartWith is Start on a server started with o (its TLS setting decides
// the agent's).
func StartWith(t testing.TB, o moattest.Options) *Env { return startWith(t, o) }

// StartTLS starts the server with HTTPS (its self-signed certificate is the
// CA of Config) and registers the device.
func StartTLS(t testing.TB) *Env { return start(t, true) }

func start(t testing.TB, tls bool) *Env { return startWith(t, moattest.Options{TLS: tls}) }

func startWith(t testing.TB, o moattest.Options) *Env {
	t.Helper()
	s := moattest.Start(t, o)
	tls := o.TLS
	ctx := context.Background()
	if _, err := s.Client.PutHub(ctx, "fleet", hub.HubSpec{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	key := base64.StdEncoding.EncodeToString(k)
	if _, err := s.Client.PutDevice(ctx, "dev-1", device.Device{Spec: device.Spec{Hub: "fleet", PrimaryKey: key}}); err != nil {
		t.Fatal(err)
	}
	return &Env{S: s, Hub: "fleet", Device: "dev-1", Key: key, tls: tls}
}

// Config is an agent configuration for the device, state in dir.
func (e *Env) Config(dir string) agent.Config {
	c := agent.Defaults()
	c.Server, c.Device, c.Key, c.State, c.Audit = e.S.URL(), e.Device, e.Key, dir, "off"
	if e.tls {
		c.CA = filepath.Join(e.S.Data, server.CertFile)
	}
	return c
}

// Event is one security event the hub stored, with the message it came in.
type Event struct {
	Sequence uint64
	AgentID  string
	Event    secmsg.Event
}

// Events returns every agent security event of the device, in order. A
// read the server answers with an error (a 503 the embedded event log may
// give under load while an agent writes) is retried for up to 10 s before
// the test fails: tests poll the stream while the agent writes to it.
func (e *Env) Events(t testing.TB) []Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := e.TryEvents()
		if err == nil {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading the security stream: %v", err)
		}
		t.Logf("reading the security stream (retrying): %v", err)
		time.Sleep(500 * time.Millisecond)
	}
}

// TryEvents reads every agent security event of the device once.
func (e *Env) TryEvents() ([]Event, error) {
	var out []Event
	var from uint64 = 1
	for {
		resp, err := e.S.Client.ReadSecurity(context.Background(), e.Hub, e.Device, from, 1000, 0)
		if err != nil {
			return nil, err
		}
		for _, r := range resp.Records {
			if r.Source != hub.SourceAgent {
				continue
			}
			var ar hub.AgentRecord
			if err := json.Unmarshal(r.Data, &ar); err != nil {
				return nil, err
			}
			m, err := secmsg.Parse(ar.Message)
			if err != nil {
				return nil, fmt.Errorf("stored message: %w", err)
			}
			out = append(out, Event{Sequence: r.Sequence, AgentID: m.AgentID, Event: m.Events[0]})
		}
		if len(resp.Records) == 0 {
			return out, nil
		}
		from = resp.Next
	}
}

// Fixture writes the typical-device fixture tree (snapshottest.IoTDevice)
// into a fresh directory, with an empty /var/log, and returns its root.
func Fixture(t testing.TB) string {
	t.Helper()
	fx, err := snapshottest.Open(snapshottest.IoTDevice)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := fx.Materialize(root); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var", "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Materialize may leave read-only directories: let TempDir's cleanup
	// remove them.
	t.Cleanup(func() {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return root
}
