package audit

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/elastic/go-libaudit/v2/rule"
	"github.com/elastic/go-libaudit/v2/rule/flags"
)

// DefaultRuleKey tags the rules this package installs (-k moat).
const DefaultRuleKey = "moat"

// rulesFile is moat.rules, the file operators copy to /etc/audit/rules.d/.
//
//go:embed moat.rules
var rulesFile string

// RulesFile returns the content of moat.rules.
func RulesFile() string { return rulesFile }

// Rules returns the audit rule lines the collector needs, tagged with key:
// the active lines of moat.rules, and its optional exit_group lines when
// terminate is set.
func Rules(key string, terminate bool) []string {
	var out []string
	for _, line := range strings.Split(rulesFile, "\n") {
		line = strings.TrimSpace(line)
		if opt, ok := strings.CutPrefix(line, "#-a "); ok && terminate {
			line = "-a " + opt
		}
		if !strings.HasPrefix(line, "-a ") {
			continue
		}
		if key != DefaultRuleKey {
			line = strings.TrimSuffix(line, "-k "+DefaultRuleKey) + "-k " + key
		}
		out = append(out, line)
	}
	return out
}

// RuleClient is the part of go-libaudit's AuditClient that manages rules.
type RuleClient interface {
	GetRules() ([][]byte, error)
	AddRule(rule []byte) error
	DeleteRule(rule []byte) error
}

// RuleError is a rule line that could not be used.
type RuleError struct {
	Line string
	Err  error
}

func (e *RuleError) Error() string { return fmt.Sprintf("audit rule %q: %v", e.Line, e.Err) }
func (e *RuleError) Unwrap() error { return e.Err }

// ErrRuleKey is returned for a rule key that auditctl would not accept.
var ErrRuleKey = errors.New("audit rule key must be 1 to 256 bytes without spaces or quotes")

// InstallResult says what InstallRules did.
type InstallResult struct {
	Added       []string     // lines added now
	Present     []string     // lines already in the kernel (not removed by Remove)
	Unsupported []*RuleError // lines that do not build on this architecture
	added       []rule.WireFormat
}

// ValidKey checks a rule key.
func ValidKey(key string) error {
	if key == "" || len(key) > 256 || strings.ContainsAny(key, " \t\n\"'\\") {
		return ErrRuleKey
	}
	return nil
}

// InstallRules adds the rule lines the kernel does not have yet. Lines are
// parsed with go-libaudit's rule/flags and built with rule.Build; a line
// that cannot be built here (arch=b64 on a 32-bit system, a syscall the
// architecture lacks) is reported in Unsupported, not as an error. Listing
// or adding rules without CAP_AUDIT_CONTROL fails with an error wrapping
// EPERM, after which nothing was added.
func InstallRules(c RuleClient, lines []string) (*InstallResult, error) {
	existing, err := c.GetRules()
	if err != nil {
		return nil, fmt.Errorf("list audit rules: %w", err)
	}
	have := make(map[string]bool, len(existing))
	for _, wf := range existing {
		if text, err := rule.ToCommandLine(wf, false); err == nil {
			have[text] = true
		}
	}
	res := &InstallResult{}
	for _, line := range lines {
		wf, text, err := buildRule(line)
		if err != nil {
			res.Unsupported = append(res.Unsupported, &RuleError{Line: line, Err: err})
			continue
		}
		if have[text] {
			res.Present = append(res.Present, line)
			continue
		}
		if err := c.AddRule(wf); err != nil {
			if err.Error() == "rule exists" {
				res.Present = append(res.Present, line)
				continue
			}
			return res, &RuleError{Line: line, Err: err}
		}
		have[text] = true
		res.Added = append(res.Added, line)
		res.added = append(res.added, wf)
	}
	return res, nil
}

// buildRule parses and builds one line, and renders it back the way the
// kernel's rules are rendered, for comparison.
func buildRule(line string) (rule.WireFormat, string, error) {
	r, err := flags.Parse(line)
	if err != nil {
		return nil, "", fmt.Errorf("parse: %w", err)
	}
	wf, err := rule.Build(r)
	if err != nil {
		return nil, "", fmt.Errorf("build: %w", err)
	}
	text, err := rule.ToCommandLine(wf, false)
	if err != nil {
		return nil, "", fmt.Errorf("render: %w", err)
	}
	return wf, text, nil
}

// Remove deletes the rules InstallRules added (not those already present)
// and checks that they are gone.
func (r *InstallResult) Remove(c RuleClient) error {
	var errs []error
	for i, wf := range r.added {
		if err := c.DeleteRule(wf); err != nil {
			errs = append(errs, &RuleError{Line: r.Added[i], Err: err})
		}
	}
	if len(r.added) > 0 {
		// go-libaudit's DeleteRule does not check the kernel's answer.
		left, err := c.GetRules()
		if err != nil {
			errs = append(errs, fmt.Errorf("list audit rules: %w", err))
		}
		gone := make(map[string]bool)
		for _, wf := range left {
			if text, err := rule.ToCommandLine(wf, false); err == nil {
				gone[text] = true
			}
		}
		for i, wf := range r.added {
			if text, err := rule.ToCommandLine(wf, false); err == nil && gone[text] {
				errs = append(errs, &RuleError{Line: r.Added[i], Err: errors.New("still installed after delete")})
			}
		}
	}
	r.added, r.Added = nil, nil
	return errors.Join(errs...)
}
