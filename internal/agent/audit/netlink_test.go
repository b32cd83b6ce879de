package audit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/rule"
)

// TestNetlinkEndToEnd runs the real thing: rules into the kernel, records
// from the multicast group. It needs root (CAP_AUDIT_CONTROL and
// CAP_AUDIT_READ) and a kernel that lets this process use audit; it switches
// auditing on for its duration if it was off, and removes its rules.
func TestNetlinkEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for CAP_AUDIT_CONTROL and CAP_AUDIT_READ")
	}
	probe, err := libaudit.NewAuditClient(nil)
	if err != nil {
		t.Skipf("no audit netlink socket: %v", err)
	}
	status, err := probe.GetStatus()
	probe.Close()
	if err != nil {
		t.Skipf("kernel audit status unavailable (container or no audit support?): %v", err)
	}
	if status.Enabled == 2 {
		t.Skip("kernel audit configuration is locked (enabled=2)")
	}

	key := "moattest" + strconv.Itoa(os.Getpid())
	var diagMu sync.Mutex
	var diags []string
	c, err := Open(Config{
		Source:      SourceNetlink,
		RuleKey:     key,
		RemoveRules: true,
		EnableAudit: true,
		Report: func(d Diagnostic) {
			diagMu.Lock()
			diags = append(diags, d.String())
			diagMu.Unlock()
		},
	})
	if err != nil {
		t.Skipf("netlink source unavailable: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			c.Close()
		}
	}()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	marker := fmt.Sprintf("moat-netlink-%d", time.Now().UnixNano())
	events := make(chan Event, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() {
		runDone <- c.Run(ctx, func(ev Event) {
			// Only this test's events: on a busy machine (the whole suite
			// running) other processes' would crowd them out.
			switch e := ev.(type) {
			case *ProcessCreate:
				if len(e.Args) < 2 || e.Args[1] != marker {
					return
				}
			case *ConnectionCreate:
				if e.PID != os.Getpid() {
					return
				}
			default:
				return
			}
			select {
			case events <- ev:
			default:
			}
		})
	}()

	var sawExec, sawConnect, sawAccept bool
	deadline := time.After(60 * time.Second) // a bound on a hang, not a speed
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	trigger := func() {
		_ = exec.Command("/bin/true", marker, "with space").Run()
		if conn, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			conn.Close()
		}
	}
	trigger()
	for !(sawExec && sawConnect && sawAccept) {
		select {
		case ev := <-events:
			switch e := ev.(type) {
			case *ProcessCreate:
				if len(e.Args) == 3 && e.Args[1] == marker {
					sawExec = true
					if e.Args[2] != "with space" || !strings.HasSuffix(e.Executable, "true") || e.PID == 0 {
						t.Errorf("ProcessCreate = %+v", e)
					}
				}
			case *ConnectionCreate:
				if e.RemoteIP == "127.0.0.1" && e.RemotePort == port && e.Direction == DirectionOut && e.PID == os.Getpid() {
					sawConnect = true
				}
				if e.RemoteIP == "127.0.0.1" && e.Direction == DirectionIn && e.PID == os.Getpid() {
					sawAccept = true
				}
			}
		case <-tick.C:
			trigger() // records may be lost under load: try again
		case <-deadline:
			diagMu.Lock() // not held while failing: Close reports diagnostics too
			got := strings.Join(diags, "\n")
			diagMu.Unlock()
			t.Fatalf("within 60 s: execve %v, connect %v, accept %v; diagnostics:\n%s",
				sawExec, sawConnect, sawAccept, got)
		}
	}
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// The rules are gone and auditing is as it was.
	ctl, err := libaudit.NewAuditClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	rules, err := ctl.GetRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, wf := range rules {
		if s, err := rule.ToCommandLine(wf, false); err == nil && strings.Contains(s, key) {
			t.Errorf("rule left behind: %s", s)
		}
	}
	after, err := ctl.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if after.Enabled != status.Enabled {
		t.Errorf("audit enabled = %d after the test, was %d", after.Enabled, status.Enabled)
	}
}
