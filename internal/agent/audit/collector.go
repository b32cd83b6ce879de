package audit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	libaudit "github.com/elastic/go-libaudit/v2"
)

// DefaultLogPath is where auditd writes its log.
const DefaultLogPath = "/var/log/audit/audit.log"

// SourceMode chooses the record source.
type SourceMode string

// Source modes.
const (
	SourceAuto    SourceMode = "auto"    // netlink, else the log file (default)
	SourceNetlink SourceMode = "netlink" // netlink only
	SourceFile    SourceMode = "file"    // the log file only
)

// Config configures a Collector. The zero value collects from netlink or
// /var/log/audit/audit.log and installs the rules when it may.
type Config struct {
	// Root prefixes every file path (LogPath, /etc/passwd); default "/".
	Root string
	// LogPath is the audit log, relative to Root (default DefaultLogPath).
	LogPath string
	// FromStart reads the log present at start from its beginning instead of
	// its end.
	FromStart bool
	Source    SourceMode
	// NoRules leaves the kernel's audit rules alone.
	NoRules bool
	// RemoveRules removes the rules this collector added when it closes.
	RemoveRules bool
	// RuleKey tags the rules (-k); default DefaultRuleKey.
	RuleKey string
	// ProcessTerminate also installs the exit_group rules.
	ProcessTerminate bool
	// EnableAudit switches kernel auditing on when it is off (auditd not
	// running), and back off when the collector closes.
	EnableAudit bool
	// PollInterval is the log tailer's idle poll interval.
	PollInterval time.Duration
	Decoder      DecoderConfig
	// Report receives diagnostics; optional.
	Report func(Diagnostic)

	// Test hooks.
	openNetlink func(report func(Diagnostic)) (Source, error)
	openControl func() (controlClient, error)
}

// controlClient is the part of go-libaudit's AuditClient the collector uses
// to manage the kernel.
type controlClient interface {
	RuleClient
	GetStatus() (*libaudit.AuditStatus, error)
	SetEnabled(enabled bool, wm libaudit.WaitMode) error
	Close() error
}

// Collector reads one source and produces events.
type Collector struct {
	cfg     Config
	src     Source
	ctl     controlClient
	rules   *InstallResult
	enabled bool // kernel auditing switched on by this collector

	mu  sync.Mutex
	dec *Decoder
}

// Open prepares a collector: it installs the rules when it may (reporting
// why not otherwise), then opens the source. It fails only when no source
// can be opened in the configured mode.
func Open(cfg Config) (*Collector, error) {
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	if cfg.LogPath == "" {
		cfg.LogPath = DefaultLogPath
	}
	if cfg.Source == "" {
		cfg.Source = SourceAuto
	}
	if cfg.RuleKey == "" {
		cfg.RuleKey = DefaultRuleKey
	}
	if err := ValidKey(cfg.RuleKey); err != nil {
		return nil, err
	}
	if cfg.Report == nil {
		cfg.Report = func(Diagnostic) {}
	}
	if cfg.openNetlink == nil {
		cfg.openNetlink = func(r func(Diagnostic)) (Source, error) { return OpenNetlink(r) }
	}
	if cfg.openControl == nil {
		cfg.openControl = func() (controlClient, error) { return libaudit.NewAuditClient(nil) }
	}
	if cfg.Decoder.UserName == nil {
		cfg.Decoder.UserName = NewPasswdNames(filepath.Join(cfg.Root, "etc/passwd"), cfg.Decoder.Now).Lookup
	}
	c := &Collector{cfg: cfg, dec: NewDecoder(cfg.Decoder)}
	if !cfg.NoRules {
		c.setupKernel()
	}
	src, err := c.openSource()
	if err != nil {
		c.undoKernel()
		return nil, err
	}
	c.src = src
	return c, nil
}

// Source names the source in use.
func (c *Collector) Source() string { return c.src.Name() }

// Stats returns the decoder's counters.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dec.Stats()
}

func (c *Collector) report(d Diagnostic) { c.cfg.Report(d) }

func (c *Collector) openSource() (Source, error) {
	if c.cfg.Source != SourceFile {
		src, err := c.cfg.openNetlink(c.report)
		if err == nil {
			c.report(Diagnostic{Code: DiagSourceNetlink, Severity: SeverityInfo,
				Message: "reading audit records from the kernel's multicast group"})
			return src, nil
		}
		if c.cfg.Source == SourceNetlink {
			return nil, fmt.Errorf("audit netlink source: %w", err)
		}
		c.report(Diagnostic{Code: DiagNetlinkUnavailable, Severity: SeverityWarning,
			Message: "cannot read the kernel's audit multicast group (" + netlinkHint(err) +
				"); falling back to the audit log file",
			Err: err})
	}
	path := filepath.Join(c.cfg.Root, c.cfg.LogPath)
	c.report(Diagnostic{Code: DiagSourceFile, Severity: SeverityInfo,
		Message: "reading audit records from " + path})
	return NewTailer(TailConfig{
		Path:         path,
		FromStart:    c.cfg.FromStart,
		MaxLineBytes: c.cfg.Decoder.MaxLineBytes,
		PollInterval: c.cfg.PollInterval,
		Report:       c.report,
	}), nil
}

func netlinkHint(err error) string {
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return "the agent lacks CAP_AUDIT_READ"
	case errors.Is(err, syscall.EPROTONOSUPPORT), errors.Is(err, syscall.EAFNOSUPPORT), errors.Is(err, syscall.EINVAL):
		return "the kernel has no audit support"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the kernel refuses audit sockets here, e.g. in a container's network namespace"
	}
	return "unexpected error"
}

// setupKernel installs the rules, reporting why when it cannot.
func (c *Collector) setupKernel() {
	lines := Rules(c.cfg.RuleKey, c.cfg.ProcessTerminate)
	notInstalled := func(why string, err error) {
		c.report(Diagnostic{Code: DiagRulesNotInstalled, Severity: SeverityWarning,
			Message: "audit rules not installed: " + why +
				"; add these lines to /etc/audit/rules.d/moat.rules and run augenrules --load",
			Err: err, Rules: lines})
	}
	ctl, err := c.cfg.openControl()
	if err != nil {
		notInstalled("cannot open the audit control socket", err)
		return
	}
	status, err := ctl.GetStatus()
	if err != nil {
		_ = ctl.Close()
		if errors.Is(err, syscall.EPERM) {
			notInstalled("the agent lacks CAP_AUDIT_CONTROL", err)
		} else {
			notInstalled("cannot read the kernel's audit status", err)
		}
		return
	}
	if status.Enabled == 2 {
		_ = ctl.Close()
		notInstalled("the kernel's audit rules are locked (auditctl -e 2): reboot after adding them", nil)
		return
	}
	c.ctl = ctl
	if status.Enabled == 0 {
		if c.cfg.EnableAudit {
			if err := ctl.SetEnabled(true, libaudit.WaitForReply); err != nil {
				c.report(Diagnostic{Code: DiagAuditDisabled, Severity: SeverityError,
					Message: "kernel auditing is off and could not be switched on", Err: err})
			} else {
				c.enabled = true
				c.report(Diagnostic{Code: DiagAuditEnabled, Severity: SeverityInfo,
					Message: "switched kernel auditing on (it was off)"})
			}
		} else {
			c.report(Diagnostic{Code: DiagAuditDisabled, Severity: SeverityWarning,
				Message: "kernel auditing is off (is auditd running?): no audit events will come"})
		}
	}
	res, err := InstallRules(ctl, lines)
	if res != nil {
		for _, u := range res.Unsupported {
			c.report(Diagnostic{Code: DiagRuleUnsupported, Severity: SeverityInfo,
				Message: "audit rule does not apply on this architecture", Err: u, Rules: []string{u.Line}})
		}
	}
	switch {
	case err != nil:
		notInstalled("the kernel refused a rule", err)
	case len(res.Added)+len(res.Present) == 0:
		notInstalled("no rule builds on this architecture", nil)
	}
	if res != nil && (len(res.Added) > 0 || len(res.Present) > 0) {
		c.rules = res
		c.report(Diagnostic{Code: DiagRulesInstalled, Severity: SeverityInfo,
			Message: fmt.Sprintf("audit rules in place: %d added, %d already present", len(res.Added), len(res.Present)),
			Rules:   append(append([]string(nil), res.Added...), res.Present...)})
	}
	if !c.cfg.RemoveRules && !c.enabled {
		c.undoKernel()
	}
}

// undoKernel removes the added rules if configured, switches auditing back
// off if this collector switched it on, and closes the control socket.
func (c *Collector) undoKernel() error {
	if c.ctl == nil {
		return nil
	}
	var errs []error
	if c.cfg.RemoveRules && c.rules != nil && len(c.rules.Added) > 0 {
		lines := c.rules.Added
		if err := c.rules.Remove(c.ctl); err != nil {
			errs = append(errs, err)
		} else {
			c.report(Diagnostic{Code: DiagRulesRemoved, Severity: SeverityInfo,
				Message: "removed the audit rules this agent added", Rules: lines})
		}
	}
	if c.enabled {
		if err := c.ctl.SetEnabled(false, libaudit.WaitForReply); err != nil {
			errs = append(errs, fmt.Errorf("switch kernel auditing back off: %w", err))
		}
		c.enabled = false
	}
	errs = append(errs, c.ctl.Close())
	c.ctl = nil
	return errors.Join(errs...)
}

// Run reads records and calls emit with each event until ctx ends; it then
// decodes what is pending and returns nil. It returns an error only when the
// source fails for good.
func (c *Collector) Run(ctx context.Context, emit func(Event)) error {
	c.mu.Lock()
	timeout := c.dec.cfg.Timeout
	c.mu.Unlock()
	wait := min(max(timeout/2, 10*time.Millisecond), time.Second)
	var evs []Event
	for {
		raws, err := c.src.Read(ctx, wait)
		c.mu.Lock()
		evs = evs[:0]
		for _, r := range raws {
			evs = c.dec.Raw(evs, r)
		}
		evs = c.dec.Expire(evs)
		if ctx.Err() != nil {
			evs = c.dec.Flush(evs)
		}
		c.mu.Unlock()
		for _, ev := range evs {
			emit(ev)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("audit source %s: %w", c.src.Name(), err)
		}
	}
}

// Close closes the source and undoes what the collector changed in the
// kernel (see Config.RemoveRules, Config.EnableAudit).
func (c *Collector) Close() error {
	return errors.Join(c.src.Close(), c.undoKernel())
}
