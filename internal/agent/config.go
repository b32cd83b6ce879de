package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/agentconf"
	"go.yaml.in/yaml/v3"
)

// Config is the agent's local configuration: a YAML file whose keys are
// the long flag names (see docs/agent.md), flags overriding it.
type Config struct {
	// Server is the Moat server's base URL (discovery and hub), e.g.
	// https://moat.example.com:8443.
	Server string `yaml:"server"`
	// Namespace is the server's namespace, the host device proofs are
	// scoped to (default: the host of Server).
	Namespace string `yaml:"namespace"`
	// Device is the registered device id.
	Device string `yaml:"device"`
	// Key is the device's base64 key; KeyFile a file holding it (keep it
	// out of the command line: other users can read a process's arguments).
	Key     string `yaml:"key"`
	KeyFile string `yaml:"keyFile"`
	// Cert and CertKey are a PEM client certificate and its key, for mTLS
	// instead of a key.
	Cert    string `yaml:"cert"`
	CertKey string `yaml:"certKey"`
	// CA is a PEM file of the server's CA (default: the system's roots).
	CA string `yaml:"ca"`
	// InsecureSkipVerify disables server certificate checks (tests only).
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
	// Root prefixes /proc, /etc and /var/log (tests point it at fixture trees).
	Root string `yaml:"root"`
	// State is the agent's directory: spool, checkpoints, agent id.
	State string `yaml:"state"`
	// AuthLog is the sshd/PAM log ("" = /var/log/auth.log, else /var/log/secure).
	AuthLog string `yaml:"authLog"`
	// Audit is auto (netlink, else the log file), netlink, file or off.
	Audit string `yaml:"audit"`
	// AuditLog is auditd's log file (default /var/log/audit/audit.log).
	AuditLog string `yaml:"auditLog"`
	// AuditRules: install the audit rules the agent needs (when permitted).
	AuditRules bool `yaml:"auditRules"`
	// ConfigPoll is how often the remote configuration is fetched.
	ConfigPoll time.Duration `yaml:"configPoll"`
	// Settings is the configuration used until the server's is fetched,
	// and when it cannot be (the same keys as the remote configuration).
	Settings agentconf.Config `yaml:"settings"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"logLevel"`
}

// Defaults returns the built-in local configuration.
func Defaults() Config {
	return Config{Root: "/", State: "/var/lib/moat-agent", Audit: "auto", AuditRules: true,
		ConfigPoll: time.Hour, LogLevel: "info"}
}

// LoadFile reads a YAML configuration over c. Unknown keys are errors.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("agent config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is no error
		return fmt.Errorf("agent config %s: %w", path, err)
	}
	return nil
}

// Validate checks the configuration and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Server)
	if c.Server == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("server %q: want https://host[:port]", c.Server))
	} else if c.Namespace == "" {
		c.Namespace = u.Hostname()
	}
	if c.Device == "" {
		errs = append(errs, errors.New("device is required"))
	}
	if c.Key == "" && c.KeyFile != "" {
		b, err := os.ReadFile(c.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("keyFile: %w", err))
		}
		c.Key = strings.TrimSpace(string(b))
	}
	if c.Key == "" && (c.Cert == "" || c.CertKey == "") {
		errs = append(errs, errors.New("set key (or keyFile), or cert and certKey"))
	}
	if c.Root == "" {
		c.Root = "/"
	}
	if c.State == "" {
		errs = append(errs, errors.New("state is required"))
	}
	switch c.Audit {
	case "auto", "netlink", "file", "off":
	default:
		errs = append(errs, fmt.Errorf("audit %q: want auto, netlink, file or off", c.Audit))
	}
	if c.ConfigPoll < 10*time.Second {
		errs = append(errs, fmt.Errorf("configPoll %s: at least 10s", c.ConfigPoll))
	}
	if err := c.Settings.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("settings: %w", err))
	}
	return errors.Join(errs...)
}

// authLogPath returns the auth log to follow, under Root.
func (c *Config) authLogPath() string {
	if c.AuthLog != "" {
		return filepath.Join(c.Root, c.AuthLog)
	}
	for _, p := range []string{"/var/log/auth.log", "/var/log/secure"} {
		if _, err := os.Stat(filepath.Join(c.Root, p)); err == nil {
			return filepath.Join(c.Root, p)
		}
	}
	return filepath.Join(c.Root, "/var/log/auth.log")
}
