package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDefaultsAreValid(t *testing.T) {
	got, err := Load(flags(t), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Defaults(), got); diff != "" {
		t.Fatalf("Load with nothing set differs from Defaults (-want +got):\n%s", diff)
	}
}

func TestGoodFile(t *testing.T) {
	got, err := Load(flags(t, "--config", "testdata/good.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Server{
		Data: "/var/lib/moat", Listen: "127.0.0.1:9443", Namespace: "fleet.example.com",
		NATS: "nats://127.0.0.1:4222", NATSPrefix: "fleet-a", DB: "postgres://moat@db/moat", SyncAlways: true,
		MaxBody: 2 << 20, ClockSkew: time.Minute, ReadMaxWait: 30 * time.Second,
		Drain: 10 * time.Second, LogLevel: "debug", LogFormat: "json",
		PublicURL: "https://fleet.example.com", Proxies: "10.0.0.0/8, 192.0.2.1", TokenMaxTTL: 30 * time.Minute,
		TokenRate: 20, TokenBurst: 5, SecurityRetention: 240 * time.Hour, AlertRetention: 2000 * time.Hour, Center: false, RulesDir: "/etc/moat/rules",
		PostureAllowedPorts: "tcp/22, TCP6/443", PostureSilentAfter: 2 * time.Hour, PostureSmallMessageBytes: 2048,
		PostureManyMessagesPerDay: 1000,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	fs := flags(t, "--listen", "127.0.0.1:1111")
	got, err := Load(fs, env(map[string]string{
		"MOAT_CONFIG": "testdata/good.yaml",
		"MOAT_LISTEN": "127.0.0.1:2222", // flag wins
		"MOAT_DATA":   "/env/data",      // env beats file
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Listen != "127.0.0.1:1111" || got.Data != "/env/data" || got.Namespace != "fleet.example.com" {
		t.Fatalf("precedence wrong: listen=%s data=%s namespace=%s", got.Listen, got.Data, got.Namespace)
	}
}

func TestBadFiles(t *testing.T) {
	cases := map[string]string{
		"bad-unknown-key.yaml": `line 2: unknown key "listn"`,
		"bad-duration.yaml":    "line 1: clockSkew: want a duration",
		"bad-not-mapping.yaml": "line 1: top level must be a mapping",
		"bad-log-level.yaml":   `logLevel "loud"`,
		"bad-half-tls.yaml":    "tlsCert and tlsKey go together",
	}
	for file, want := range cases {
		_, err := Load(flags(t, "--config", filepath.Join("testdata", file)), env(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to contain %q", file, err, want)
		}
	}
}

func TestBadEnvAndFlags(t *testing.T) {
	if _, err := Load(flags(t), env(map[string]string{"MOAT_NO_TLS": "maybe"})); err == nil || !strings.Contains(err.Error(), "MOAT_NO_TLS") {
		t.Errorf("bad env bool: %v", err)
	}
	if _, err := Load(flags(t, "--max-request-bytes", "12"), env(nil)); err == nil || !strings.Contains(err.Error(), "maxRequestBytes") {
		t.Errorf("out of range flag: %v", err)
	}
	if _, err := Load(flags(t, "--nats-prefix", "a.b"), env(nil)); err == nil || !strings.Contains(err.Error(), "natsPrefix") {
		t.Errorf("bad NATS prefix: %v", err)
	}
	if _, err := Load(flags(t, "--trusted-proxies", "10.0.0.0/8,nonsense"), env(nil)); err == nil || !strings.Contains(err.Error(), "trustedProxies") {
		t.Errorf("bad trusted proxy: %v", err)
	}
	if _, err := Load(flags(t, "--public-url", "ftp://x"), env(nil)); err == nil || !strings.Contains(err.Error(), "publicURL") {
		t.Errorf("bad public URL: %v", err)
	}
	if _, err := Load(flags(t, "--posture-allowed-ports", "tcp/22,http"), env(nil)); err == nil || !strings.Contains(err.Error(), `allowedPorts[1]: "http"`) {
		t.Errorf("bad allowed port: %v", err)
	}
	if _, err := Load(flags(t, "--posture-silent-after", "10s"), env(nil)); err == nil || !strings.Contains(err.Error(), "postureSilentAfter") {
		t.Errorf("short silentAfter: %v", err)
	}
	if _, err := Load(flags(t, "--listen", "nohostport"), env(nil)); err == nil {
		t.Error("bad listen accepted")
	}
	if _, err := Load(flags(t, "--config", "testdata/missing.yaml"), env(nil)); err == nil {
		t.Error("missing config file accepted")
	}
}

// TestDocsListEverySetting keeps docs/config.md honest: every key, variable
// and flag the struct defines must be documented there.
func TestDocsListEverySetting(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields() {
		for _, s := range []string{"`" + f.YAML + "`", "`" + f.Env + "`", "`--" + f.Flag + "`"} {
			if !strings.Contains(string(doc), s) {
				t.Errorf("docs/config.md does not mention %s", s)
			}
		}
	}
}

func TestPostureSettings(t *testing.T) {
	for _, c := range []struct {
		ports string
		want  []string
	}{
		{"tcp/22,udp/68", []string{"tcp/22", "udp/68"}},
		{" tcp/22 , TCP6/443 ", []string{"tcp/22", "TCP6/443"}},
		{"none", []string{}},
		{"", []string{}},
	} {
		cfg := Defaults()
		cfg.PostureAllowedPorts = c.ports
		p := cfg.Posture()
		if d := cmp.Diff(c.want, p.AllowedPorts); d != "" || p.AllowedPorts == nil {
			t.Errorf("postureAllowedPorts %q: allowed ports (-want +got):\n%s (nil: %v)", c.ports, d, p.AllowedPorts == nil)
		}
	}
	p := Defaults().Posture()
	if p.SilentAfter != time.Hour || p.SmallMessageBytes != 1024 || p.ManyMessagesPerDay != 500 {
		t.Errorf("default posture settings %+v", p)
	}
}
