package audit

import (
	"errors"
	"runtime"
	"strings"
	"syscall"
	"testing"

	libaudit "github.com/elastic/go-libaudit/v2"
	"github.com/elastic/go-libaudit/v2/rule"
	"github.com/google/go-cmp/cmp"
)

// fakeKernel keeps rules like the kernel: a list of wire-format rules.
type fakeKernel struct {
	rules   [][]byte
	adds    int
	listErr error
	status  libaudit.AuditStatus
	enabled []bool
	closed  bool
}

func (k *fakeKernel) GetRules() ([][]byte, error) { return k.rules, k.listErr }
func (k *fakeKernel) AddRule(r []byte) error {
	k.adds++
	for _, have := range k.rules {
		if string(have) == string(r) {
			return errors.New("rule exists")
		}
	}
	k.rules = append(k.rules, append([]byte(nil), r...))
	return nil
}
func (k *fakeKernel) DeleteRule(r []byte) error {
	for i, have := range k.rules {
		if string(have) == string(r) {
			k.rules = append(k.rules[:i], k.rules[i+1:]...)
			return nil
		}
	}
	return nil // like go-libaudit: the kernel's answer is not checked
}
func (k *fakeKernel) GetStatus() (*libaudit.AuditStatus, error) {
	if k.listErr != nil {
		return nil, k.listErr
	}
	s := k.status
	return &s, nil
}
func (k *fakeKernel) SetEnabled(on bool, _ libaudit.WaitMode) error {
	k.enabled = append(k.enabled, on)
	k.status.Enabled = 0
	if on {
		k.status.Enabled = 1
	}
	return nil
}
func (k *fakeKernel) Close() error { k.closed = true; return nil }

func texts(t *testing.T, k *fakeKernel) []string {
	t.Helper()
	var out []string
	for _, wf := range k.rules {
		s, err := rule.ToCommandLine(wf, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestRulesFromFile(t *testing.T) {
	want := []string{
		"-a always,exit -F arch=b64 -S execve,execveat -k moat",
		"-a always,exit -F arch=b32 -S execve,execveat -k moat",
		"-a always,exit -F arch=b64 -S connect,accept,accept4 -F success=1 -k moat",
		"-a always,exit -F arch=b32 -S connect,accept4 -F success=1 -k moat",
		"-a always,exit -F arch=b64 -S connect -F exit=-EINPROGRESS -k moat",
		"-a always,exit -F arch=b32 -S connect -F exit=-EINPROGRESS -k moat",
	}
	if diff := cmp.Diff(want, Rules(DefaultRuleKey, false)); diff != "" {
		t.Errorf("Rules (-want +got):\n%s", diff)
	}
	withExit := Rules("fleet", true)
	if len(withExit) != 8 || withExit[7] != "-a always,exit -F arch=b32 -S exit_group -k fleet" {
		t.Errorf("Rules(fleet, true) = %q", withExit)
	}
	for _, l := range withExit {
		if !strings.HasSuffix(l, " -k fleet") || strings.Contains(l, "moat") {
			t.Errorf("key not substituted: %q", l)
		}
	}
}

func TestRulesBuildOn64BitLinux(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the shipped rules are written for x86_64 and aarch64")
	}
	for _, l := range Rules(DefaultRuleKey, true) {
		if _, _, err := buildRule(l); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}

func TestInstallRulesIsIdempotent(t *testing.T) {
	k := &fakeKernel{}
	lines := append(Rules(DefaultRuleKey, false), "-a always,exit -F arch=b64 -S no_such_syscall -k moat")
	res, err := InstallRules(k, lines)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 6 || len(res.Present) != 0 || len(res.Unsupported) != 1 {
		t.Fatalf("first install: added %d present %d unsupported %d", len(res.Added), len(res.Present), len(res.Unsupported))
	}
	installed := texts(t, k)

	adds := k.adds
	res2, err := InstallRules(k, lines)
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Added) != 0 || len(res2.Present) != 6 || k.adds != adds {
		t.Errorf("second install: added %v, present %d, AddRule calls %d", res2.Added, len(res2.Present), k.adds-adds)
	}
	if diff := cmp.Diff(installed, texts(t, k)); diff != "" {
		t.Errorf("rules changed on second install:\n%s", diff)
	}

	// Removing the second install's result removes nothing (it added
	// nothing); removing the first's removes exactly its rules.
	other, _, _ := buildRule("-a always,exit -F arch=b64 -S openat -k site")
	k.rules = append(k.rules, other)
	if err := res2.Remove(k); err != nil {
		t.Fatal(err)
	}
	if len(k.rules) != 7 {
		t.Fatalf("Remove of a no-op install deleted rules: %d left", len(k.rules))
	}
	if err := res.Remove(k); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"-a always,exit -F arch=b64 -S openat -F key=site"}, texts(t, k)); diff != "" {
		t.Errorf("left after Remove (-want +got):\n%s", diff)
	}
}

func TestInstallRulesWithoutPermission(t *testing.T) {
	k := &fakeKernel{listErr: syscall.EPERM}
	_, err := InstallRules(k, Rules(DefaultRuleKey, false))
	if !errors.Is(err, syscall.EPERM) {
		t.Errorf("err = %v, want EPERM", err)
	}
}

func TestValidKey(t *testing.T) {
	for key, ok := range map[string]bool{"moat": true, "": false, "a b": false, `a"b`: false, strings.Repeat("k", 257): false} {
		if got := ValidKey(key) == nil; got != ok {
			t.Errorf("ValidKey(%q) ok = %v, want %v", key, got, ok)
		}
	}
}
