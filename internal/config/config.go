// Package config holds the server configuration: one struct whose field tags
// are the user documentation for the YAML file keys, the MOAT_* environment
// variables and the command-line flags. Precedence, lowest first:
// built-in defaults, the YAML file (--config / MOAT_CONFIG), environment, flags.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/moatsec/moat/internal/center/posture"
	"go.yaml.in/yaml/v3"
)

// Server is the configuration of `moat serve`.
//
// Each field's tags name its YAML key, environment variable and flag; `doc`
// is the one-line help shown by --help and in docs/config.md.
type Server struct {
	Data                      string        `yaml:"data" env:"MOAT_DATA" flag:"data" doc:"data directory: metadata DB, JetStream files, TLS material, master key"`
	Listen                    string        `yaml:"listen" env:"MOAT_LISTEN" flag:"listen" doc:"HTTP(S) listen address"`
	Namespace                 string        `yaml:"namespace" env:"MOAT_NAMESPACE" flag:"namespace" doc:"namespace host name that SAS tokens are scoped to (sr host)"`
	NoTLS                     bool          `yaml:"noTLS" env:"MOAT_NO_TLS" flag:"no-tls" doc:"serve plain HTTP (loopback testing only)"`
	TLSCert                   string        `yaml:"tlsCert" env:"MOAT_TLS_CERT" flag:"tls-cert" doc:"PEM certificate file (default: self-signed DATA/tls/cert.pem)"`
	TLSKey                    string        `yaml:"tlsKey" env:"MOAT_TLS_KEY" flag:"tls-key" doc:"PEM private key file (default: DATA/tls/key.pem)"`
	NATS                      string        `yaml:"nats" env:"MOAT_NATS" flag:"nats" doc:"external NATS URL (default: embedded JetStream under DATA/jetstream)"`
	NATSPrefix                string        `yaml:"natsPrefix" env:"MOAT_NATS_PREFIX" flag:"nats-prefix" doc:"prefix of every stream, subject and KV bucket (lets deployments share a NATS cluster)"`
	DB                        string        `yaml:"db" env:"MOAT_DB" flag:"db" doc:"metadata database URL: postgres://... (default: SQLite at DATA/moat.db)"`
	SyncAlways                bool          `yaml:"syncAlways" env:"MOAT_SYNC_ALWAYS" flag:"sync-always" doc:"embedded JetStream: fsync every write (survives power loss; slower)"`
	MaxBody                   int           `yaml:"maxRequestBytes" env:"MOAT_MAX_REQUEST_BYTES" flag:"max-request-bytes" doc:"largest accepted send request body, bytes (after decompression)"`
	ClockSkew                 time.Duration `yaml:"clockSkew" env:"MOAT_CLOCK_SKEW" flag:"clock-skew" doc:"allowance for client clocks when checking SAS token expiry"`
	ReadMaxWait               time.Duration `yaml:"readMaxWait" env:"MOAT_READ_MAX_WAIT" flag:"read-max-wait" doc:"longest long-poll a read request may ask for"`
	Drain                     time.Duration `yaml:"shutdownTimeout" env:"MOAT_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" doc:"how long SIGTERM waits for in-flight requests"`
	PublicURL                 string        `yaml:"publicURL" env:"MOAT_PUBLIC_URL" flag:"public-url" doc:"base URL devices reach this server at, returned as the token endpoint (default: https://NAMESPACE:PORT)"`
	Proxies                   string        `yaml:"trustedProxies" env:"MOAT_TRUSTED_PROXIES" flag:"trusted-proxies" doc:"comma-separated CIDRs of proxies whose X-Forwarded-For is believed for token requests"`
	TokenMaxTTL               time.Duration `yaml:"tokenMaxTTL" env:"MOAT_TOKEN_MAX_TTL" flag:"token-max-ttl" doc:"longest lifetime of an issued publisher token, whatever a device's policy says"`
	TokenRate                 int           `yaml:"tokenRatePerMinute" env:"MOAT_TOKEN_RATE_PER_MINUTE" flag:"token-rate-per-minute" doc:"token requests a device may make per minute (burst tokenBurst) before 429"`
	TokenBurst                int           `yaml:"tokenBurst" env:"MOAT_TOKEN_BURST" flag:"token-burst" doc:"token requests a device may make at once"`
	SecurityRetention         time.Duration `yaml:"securityRetention" env:"MOAT_SECURITY_RETENTION" flag:"security-retention" doc:"how long the security stream keeps agent events, token decisions and authorization failures, and the center its stored events"`
	AlertRetention            time.Duration `yaml:"alertRetention" env:"MOAT_ALERT_RETENTION" flag:"alert-retention" doc:"how long the center keeps a dismissed or resolved alert after its last change (open alerts stay)"`
	PostureAllowedPorts       string        `yaml:"postureAllowedPorts" env:"MOAT_POSTURE_ALLOWED_PORTS" flag:"posture-allowed-ports" doc:"comma-separated proto/port a device may listen on from every interface without an open-port recommendation (\"none\" allows none)"`
	PostureSilentAfter        time.Duration `yaml:"postureSilentAfter" env:"MOAT_POSTURE_SILENT_AFTER" flag:"posture-silent-after" doc:"how long an agent may send nothing before the agent-silent recommendation"`
	PostureSmallMessageBytes  int           `yaml:"postureSmallMessageBytes" env:"MOAT_POSTURE_SMALL_MESSAGE_BYTES" flag:"posture-small-message-bytes" doc:"agent-small-messages: an average message smaller than this many bytes …"`
	PostureManyMessagesPerDay int           `yaml:"postureManyMessagesPerDay" env:"MOAT_POSTURE_MANY_MESSAGES_PER_DAY" flag:"posture-many-messages-per-day" doc:"… and more messages than this a day"`
	Center                    bool          `yaml:"center" env:"MOAT_CENTER" flag:"center" doc:"run the security center (detections, alerts, responses) on this node; in a cluster, on one node only"`
	RulesDir                  string        `yaml:"rulesDir" env:"MOAT_RULES_DIR" flag:"rules-dir" doc:"directory of user detection rules (*.yaml), reloaded when they change"`
	LogLevel                  string        `yaml:"logLevel" env:"MOAT_LOG_LEVEL" flag:"log-level" doc:"debug, info, warn or error"`
	LogFormat                 string        `yaml:"logFormat" env:"MOAT_LOG_FORMAT" flag:"log-format" doc:"text or json"`
}

// Defaults returns the built-in configuration.
func Defaults() Server {
	return Server{
		Data:                      "./moat-data",
		Listen:                    ":8443",
		Namespace:                 "localhost",
		NATSPrefix:                "moat",
		MaxBody:                   1 << 20,
		ClockSkew:                 30 * time.Second,
		ReadMaxWait:               60 * time.Second,
		Drain:                     30 * time.Second,
		TokenMaxTTL:               time.Hour,
		TokenRate:                 10,
		TokenBurst:                10,
		SecurityRetention:         30 * 24 * time.Hour,
		AlertRetention:            90 * 24 * time.Hour,
		PostureAllowedPorts:       "tcp/22,udp/68",
		PostureSilentAfter:        time.Hour,
		PostureSmallMessageBytes:  1024,
		PostureManyMessagesPerDay: 500,
		Center:                    true,
		LogLevel:                  "info",
		LogFormat:                 "text",
	}
}

// Posture returns the recommendations' settings (postureAllowedPorts,
// postureSilentAfter, postureSmallMessageBytes, postureManyMessagesPerDay).
func (c Server) Posture() posture.Config {
	ports := []string{}
	if v := strings.TrimSpace(c.PostureAllowedPorts); v != "" && v != "none" {
		for _, p := range strings.Split(v, ",") {
			ports = append(ports, strings.TrimSpace(p))
		}
	}
	return posture.Config{AllowedPorts: ports, SilentAfter: c.PostureSilentAfter,
		SmallMessageBytes: int64(c.PostureSmallMessageBytes), ManyMessagesPerDay: int64(c.PostureManyMessagesPerDay)}
}

// TrustedProxies parses the trustedProxies setting.
func (c Server) TrustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.Proxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, fmt.Errorf("trustedProxies: %q is not a CIDR or an address", s)
			}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Field describes one configuration setting, for docs and --help.
type Field struct {
	YAML, Env, Flag, Doc, Type string
	Default                    string
}

// Fields lists every setting of Server with its default.
func Fields() []Field {
	d := reflect.ValueOf(Defaults())
	t := d.Type()
	out := make([]Field, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, Field{
			YAML: f.Tag.Get("yaml"), Env: f.Tag.Get("env"), Flag: f.Tag.Get("flag"),
			Doc: f.Tag.Get("doc"), Type: f.Type.String(), Default: format(d.Field(i)),
		})
	}
	return out
}

// RegisterFlags defines one flag per setting on fs, with defaults shown.
func RegisterFlags(fs *pflag.FlagSet) {
	for _, f := range Fields() {
		switch f.Type {
		case "bool":
			fs.Bool(f.Flag, f.Default == "true", f.Doc)
		default:
			fs.String(f.Flag, f.Default, f.Doc+" ("+f.Env+")")
		}
	}
	fs.String("config", "", "YAML configuration file (MOAT_CONFIG)")
}

// Load builds the configuration from defaults, the YAML file named by the
// --config flag or MOAT_CONFIG, the environment (getenv) and the flags that
// were set explicitly on fs.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Server, error) {
	cfg := Defaults()
	path := getenv("MOAT_CONFIG")
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && f.Changed {
			path = f.Value.String()
		}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	v := reflect.ValueOf(&cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag
		if s := getenv(tag.Get("env")); s != "" {
			if err := set(v.Field(i), s); err != nil {
				return cfg, fmt.Errorf("config: %s: %w", tag.Get("env"), err)
			}
		}
		if fs == nil {
			continue
		}
		if f := fs.Lookup(tag.Get("flag")); f != nil && f.Changed {
			if err := set(v.Field(i), f.Value.String()); err != nil {
				return cfg, fmt.Errorf("config: --%s: %w", f.Name, err)
			}
		}
	}
	return cfg, cfg.Validate()
}

// decodeYAML is strict: unknown keys are errors with their line, so a typo
// never silently falls back to a default.
func decodeYAML(data []byte, cfg *Server) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: top level must be a mapping", m.Line)
	}
	v := reflect.ValueOf(cfg).Elem()
	byKey := map[string]reflect.Value{}
	for i := range v.NumField() {
		byKey[v.Type().Field(i).Tag.Get("yaml")] = v.Field(i)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := m.Content[i], m.Content[i+1]
		field, ok := byKey[k.Value]
		if !ok {
			return fmt.Errorf("line %d: unknown key %q", k.Line, k.Value)
		}
		if val.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s must be a scalar", val.Line, k.Value)
		}
		if err := set(field, val.Value); err != nil {
			return fmt.Errorf("line %d: %s: %w", val.Line, k.Value, err)
		}
	}
	return nil
}

func set(f reflect.Value, s string) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		f.SetBool(b)
	case reflect.Int64: // time.Duration
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration like 30s, got %q", s)
		}
		f.SetInt(int64(d))
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		f.SetInt(int64(n))
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}

func format(v reflect.Value) string {
	if d, ok := v.Interface().(time.Duration); ok {
		return d.String()
	}
	return fmt.Sprint(v.Interface())
}

// Validate checks the settings that can be checked without touching the system.
func (c Server) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("data must not be empty"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	if c.Namespace == "" || strings.ContainsAny(c.Namespace, "/:@ ") {
		errs = append(errs, fmt.Errorf("namespace %q must be a bare host name", c.Namespace))
	}
	if !validPrefix(c.NATSPrefix) {
		errs = append(errs, fmt.Errorf("natsPrefix %q: want 1-32 letters, digits or -", c.NATSPrefix))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tlsCert and tlsKey go together"))
	}
	if c.MaxBody < 1024 || c.MaxBody > 256<<20 {
		errs = append(errs, fmt.Errorf("maxRequestBytes %d out of range [1024, 268435456]", c.MaxBody))
	}
	if c.ClockSkew < 0 || c.ClockSkew > time.Hour {
		errs = append(errs, fmt.Errorf("clockSkew %s out of range [0, 1h]", c.ClockSkew))
	}
	if c.ReadMaxWait < 0 || c.Drain < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if _, err := c.TrustedProxies(); err != nil {
		errs = append(errs, err)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("publicURL %q: want http(s)://host[:port]", c.PublicURL))
		}
	}
	if c.TokenMaxTTL < 10*time.Second || c.TokenMaxTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("tokenMaxTTL %s out of range [10s, 24h]", c.TokenMaxTTL))
	}
	if c.SecurityRetention < time.Hour {
		errs = append(errs, fmt.Errorf("securityRetention %s: at least 1h", c.SecurityRetention))
	}
	if c.AlertRetention < time.Hour {
		errs = append(errs, fmt.Errorf("alertRetention %s: at least 1h", c.AlertRetention))
	}
	if err := c.Posture().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("posture settings: %w", err))
	}
	if c.PostureSilentAfter < time.Minute || c.PostureSmallMessageBytes < 1 || c.PostureManyMessagesPerDay < 1 {
		errs = append(errs, errors.New("postureSilentAfter must be at least 1m, postureSmallMessageBytes and postureManyMessagesPerDay at least 1"))
	}
	if c.TokenRate < 1 || c.TokenBurst < 1 {
		errs = append(errs, errors.New("tokenRatePerMinute and tokenBurst must be at least 1"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("logLevel %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("logFormat %q: want text or json", c.LogFormat))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > 32 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
