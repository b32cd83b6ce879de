package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/moatsec/moat/internal/client"
	"github.com/moatsec/moat/internal/hub"
)

// TestSIGTERMDrainsAndExitsCleanly: SIGTERM while requests are in flight
// exits 0, and whatever was acknowledged is there after a restart.
func TestSIGTERMDrainsAndExitsCleanly(t *testing.T) {
	data, addr := t.TempDir(), freePort(t)
	p := startServe(t, data, addr)
	c := p.client(t)
	ctx := context.Background()
	if _, err := c.PutHub(ctx, "h", hub.HubSpec{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	acked := make(chan string, 10000)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			body := fmt.Sprintf("e%d", i)
			if err := c.Send(ctx, client.Target{Hub: "h"}, client.Event{Body: []byte(body)}); err != nil {
				return
			}
			acked <- body
			if i == 200 {
				_ = p.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
	}()
	err := p.wait()
	<-stopped
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("moat serve exited with %v after SIGTERM\n%s", err, p.logs)
	}
	if !strings.Contains(p.logs.String(), "stopped") {
		t.Fatalf("no clean shutdown in the log:\n%s", p.logs)
	}
	close(acked)
	p = startServe(t, data, addr)
	got := readAll(t, p.client(t), "h", 1)
	n := 0
	for body := range acked {
		n++
		if got[body] != 1 {
			t.Fatalf("acknowledged event %s stored %d times", body, got[body])
		}
	}
	if n < 200 {
		t.Fatalf("only %d events acknowledged before SIGTERM", n)
	}
}

// TestCLIQuickStart drives the admin CLI against a live server: hub, rule,
// sas, send, consume and publisher revocation.
func TestCLIQuickStart(t *testing.T) {
	data, addr := t.TempDir(), freePort(t)
	startServe(t, data, addr)
	cli := cliRunner{t: t, addr: addr, data: data}
	moat, must := cli.run, cli.must
	must("", "hub", "create", "telemetry", "--partitions", "2")
	if out := must("", "hub", "list"); !strings.Contains(out, "telemetry") {
		t.Fatalf("hub list: %s", out)
	}
	must("", "send", "--hub", "telemetry", "--publisher", "dev1", "-p", "unit=C", `{"t":21}`)
	must(`from stdin`, "send", "--hub", "telemetry", "-")
	out := must("", "consume", "--hub", "telemetry", "--from-start", "-o", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("consume printed %d lines:\n%s", len(lines), out)
	}
	bodies := map[string]bool{}
	for _, l := range lines {
		var e struct {
			Body       string
			Publisher  string
			Properties map[string]any
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("consume line %q: %v", l, err)
		}
		bodies[e.Body] = true
		if e.Body == `{"t":21}` && (e.Publisher != "dev1" || e.Properties["Unit"] != "C") {
			t.Errorf("event lost its publisher or property: %s", l)
		}
	}
	if !bodies[`{"t":21}`] || !bodies["from stdin"] {
		t.Fatalf("consume bodies: %v", bodies)
	}
	// A publisher token from `sas sign`, then revocation through the CLI.
	tok := strings.TrimSpace(must("", "sas", "sign", "--hub", "telemetry", "--publisher", "dev1", "--ttl", "10m"))
	if out := must("", "sas", "inspect", tok); !strings.Contains(out, "/telemetry/publishers/dev1") || !regexp.MustCompile(`signature verifies:\s+true`).MatchString(out) {
		t.Fatalf("sas inspect:\n%s", out)
	}
	must("", "publisher", "revoke", "telemetry", "dev1")
	_, err := moat("", "send", "--hub", "telemetry", "--publisher", "dev1", "x")
	if err == nil || !strings.Contains(err.Error(), "publisher_revoked") {
		t.Fatalf("send after revoke: %v", err)
	}
	must("", "publisher", "restore", "telemetry", "dev1")
	must("", "send", "--hub", "telemetry", "--publisher", "dev1", "x")
	// Rules, and a device token signed with a hub rule's key (sas sign --rule).
	if out := must("", "rule", "create", "devices", "--hub", "telemetry", "--rights", "Send"); !strings.Contains(out, "primaryConnectionString") {
		t.Fatalf("rule create:\n%s", out)
	}
	devTok := strings.TrimSpace(must("", "sas", "sign", "--rule", "devices", "--hub", "telemetry", "--publisher", "dev2"))
	if !strings.Contains(devTok, "skn=devices") {
		t.Fatalf("sas sign --rule: %s", devTok)
	}
	if out := must("", "--connection-string", "Endpoint=sb://localhost/;SharedAccessSignature="+devTok,
		"send", "--hub", "telemetry", "--publisher", "dev2", "with a device token"); out != "" {
		t.Fatalf("send with a device token printed %q", out)
	}
	if _, err := moat("", "--connection-string", "Endpoint=sb://localhost/;SharedAccessSignature="+devTok,
		"send", "--hub", "telemetry", "--publisher", "dev3", "x"); err == nil || !strings.Contains(err.Error(), "wrong_resource") {
		t.Fatalf("a dev2 token sending as dev3: %v", err)
	}
	must("", "rule", "regenerate", "devices", "--hub", "telemetry", "--key", "secondary")
	if out := must("", "rule", "list", "--hub", "telemetry"); !strings.Contains(out, "devices") {
		t.Fatalf("rule list:\n%s", out)
	}
	must("", "rule", "delete", "devices", "--hub", "telemetry")
	must("", "hub", "delete", "telemetry")
}
