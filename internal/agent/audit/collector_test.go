package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// collectorRoot lays out a --root directory with the fixture as its audit log.
func collectorRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var/log/audit"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var/log/audit/audit.log"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestCollectorFallsBackToFileAndSaysWhy(t *testing.T) {
	root := collectorRoot(t)
	kernel := &fakeKernel{listErr: syscall.EPERM}
	var diags []Diagnostic
	c, err := Open(Config{
		Root:        root,
		FromStart:   true,
		Decoder:     DecoderConfig{Timeout: 50 * time.Millisecond},
		Report:      func(d Diagnostic) { diags = append(diags, d) },
		openNetlink: func(func(Diagnostic)) (Source, error) { return nil, fmt.Errorf("join: %w", syscall.EPERM) },
		openControl: func() (controlClient, error) { return kernel, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Source(), "file:"+filepath.Join(root, "var/log/audit/audit.log"); got != want {
		t.Errorf("Source() = %q, want %q", got, want)
	}
	var codes []DiagCode
	for _, d := range diags {
		codes = append(codes, d.Code)
	}
	if diff := cmp.Diff([]DiagCode{DiagRulesNotInstalled, DiagNetlinkUnavailable, DiagSourceFile}, codes); diff != "" {
		t.Fatalf("diagnostics (-want +got):\n%s", diff)
	}
	if !errors.Is(diags[1].Err, syscall.EPERM) || !kernel.closed {
		t.Errorf("netlink diagnostic err = %v; control socket closed = %v", diags[1].Err, kernel.closed)
	}
	if diff := cmp.Diff(Rules(DefaultRuleKey, false), diags[0].Rules); diff != "" {
		t.Errorf("rules to add by hand (-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var got []Event
	done := make(chan error)
	go func() {
		done <- c.Run(ctx, func(ev Event) {
			got = append(got, ev)
			if len(got) == 16 { // the last, without EOE, comes after Timeout
				cancel()
			}
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("collector did not deliver the fixture's events")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	want := decodeAll(t, NewDecoder(DecoderConfig{}), mustRead(t, "testdata/audit.log"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCollectorInstallsRulesAndUndoes(t *testing.T) {
	kernel := &fakeKernel{}
	var diags []DiagCode
	c, err := Open(Config{
		Root:        t.TempDir(),
		Source:      SourceFile,
		RemoveRules: true,
		EnableAudit: true,
		RuleKey:     "fleet",
		Report:      func(d Diagnostic) { diags = append(diags, d.Code) },
		openControl: func() (controlClient, error) { return kernel, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kernel.rules) != 6 || kernel.closed {
		t.Fatalf("rules in kernel = %d, control closed = %v; want 6, false", len(kernel.rules), kernel.closed)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(kernel.rules) != 0 || !kernel.closed {
		t.Errorf("after Close: rules %d, control closed %v", len(kernel.rules), kernel.closed)
	}
	if diff := cmp.Diff([]bool{true, false}, kernel.enabled); diff != "" {
		t.Errorf("SetEnabled calls (-want +got):\n%s", diff)
	}
	want := []DiagCode{DiagAuditEnabled, DiagRulesInstalled, DiagSourceFile, DiagRulesRemoved}
	if diff := cmp.Diff(want, diags); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func TestCollectorNetlinkOnlyFails(t *testing.T) {
	_, err := Open(Config{
		Source:      SourceNetlink,
		NoRules:     true,
		openNetlink: func(func(Diagnostic)) (Source, error) { return nil, syscall.EPROTONOSUPPORT },
	})
	if !errors.Is(err, syscall.EPROTONOSUPPORT) {
		t.Errorf("err = %v, want EPROTONOSUPPORT", err)
	}
}

func TestCollectorLockedRules(t *testing.T) {
	kernel := &fakeKernel{}
	kernel.status.Enabled = 2
	var diags []Diagnostic
	c, err := Open(Config{
		Root: t.TempDir(), Source: SourceFile,
		Report:      func(d Diagnostic) { diags = append(diags, d) },
		openControl: func() (controlClient, error) { return kernel, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if diags[0].Code != DiagRulesNotInstalled || len(kernel.rules) != 0 || !kernel.closed {
		t.Errorf("diagnostic %v, rules %d, closed %v", diags[0], len(kernel.rules), kernel.closed)
	}
}
