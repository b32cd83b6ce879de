package baseline

import (
	"cmp"
	"slices"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// Result of a check.
type Result string

// Results.
const (
	Pass  Result = "Pass"
	Fail  Result = "Fail"
	Error Result = "Error" // the check could not be evaluated; Reason says why
)

// Severity of a failed check.
type Severity string

// Severities, most severe first.
const (
	Critical      Severity = "Critical"
	High          Severity = "High"
	Medium        Severity = "Medium"
	Low           Severity = "Low"
	Informational Severity = "Informational"
)

// Check is the outcome of one check. ID is stable across versions and is
// the key the differ uses.
type Check struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Result      Result   `json:"result"`
	Severity    Severity `json:"severity"`
	Expected    string   `json:"expected"`
	Actual      string   `json:"actual,omitempty"`
	// Reason is where Actual was found (file:line) or, for Error, why the
	// check could not run.
	Reason      string `json:"reason,omitempty"`
	Remediation string `json:"remediation"`
}

// Report is the checks sorted by ID and the configuration lines skipped.
type Report struct {
	Checks   []Check          `json:"checks"`
	Problems []hostfs.Problem `json:"problems,omitempty"`
}

// DefaultPATH is root's PATH on Debian-like systems, checked when
// Options.PATH is empty.
const DefaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options tune Run.
type Options struct {
	// PATH whose directories are checked for world-write; "" means
	// DefaultPATH. The agent's own PATH is not necessarily root's.
	PATH string
}

// outcome is what a check function returns.
type outcome struct {
	result Result
	actual string
	reason string
}

func pass(actual, reason string) outcome { return outcome{Pass, actual, reason} }
func fail(actual, reason string) outcome { return outcome{Fail, actual, reason} }
func errored(err error) outcome          { return outcome{result: Error, reason: err.Error()} }
func erroredf(reason string) outcome     { return outcome{result: Error, reason: reason} }

// definition is one check in the catalogue.
type definition struct {
	id, description string
	severity        Severity
	expected        string
	remediation     string
	run             func(*env) outcome
}

// Run evaluates every check against root.
func Run(root hostfs.Root, opts Options) Report {
	e := newEnv(root, cmp.Or(opts.PATH, DefaultPATH))
	var rep Report
	for _, d := range catalogue() {
		o := d.run(e)
		rep.Checks = append(rep.Checks, Check{
			ID: d.id, Description: d.description, Result: o.result, Severity: d.severity,
			Expected: d.expected, Actual: o.actual, Reason: o.reason, Remediation: d.remediation,
		})
	}
	slices.SortFunc(rep.Checks, func(a, b Check) int { return cmp.Compare(a.ID, b.ID) })
	rep.Problems = e.problems()
	return rep
}

// IDs lists the ids of every check, sorted.
func IDs() []string {
	var ids []string
	for _, d := range catalogue() {
		ids = append(ids, d.id)
	}
	slices.Sort(ids)
	return ids
}

func catalogue() []definition {
	return slices.Concat(sshChecks(), fileChecks(), accountChecks(), kernelChecks())
}
