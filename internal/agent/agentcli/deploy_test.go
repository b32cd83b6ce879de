package agentcli

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moatsec/moat/internal/agent"
	"github.com/moatsec/moat/internal/agent/audit"
	"github.com/moatsec/moat/internal/agentconf"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The deployment files and the agent's documentation live at the top of the
// repository; these tests keep them in step with the code.
var (
	deployDir = filepath.Join("..", "..", "..", "deploy")
	agentDoc  = filepath.Join("..", "..", "..", "docs", "agent.md")
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tagNames returns the names of a struct's fields under a tag, without
// options (",omitzero").
func tagNames(t *testing.T, v any, tag string) []string {
	t.Helper()
	rt := reflect.TypeOf(v)
	var out []string
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get(tag), ",")
		if name == "" || name == "-" {
			t.Fatalf("%s.%s has no %s tag", rt.Name(), rt.Field(i).Name, tag)
		}
		out = append(out, name)
	}
	return out
}

// TestDeployAgentYAML loads the example configuration with the agent's own
// loader: it must load, hold the defaults apart from the example's server,
// device and key file, and validate once the key file exists.
func TestDeployAgentYAML(t *testing.T) {
	c := agent.Defaults()
	if err := c.LoadFile(filepath.Join(deployDir, "agent.yaml")); err != nil {
		t.Fatalf("deploy/agent.yaml does not load: %v", err)
	}
	want := agent.Defaults()
	want.Server, want.Device, want.KeyFile = "https://moat.example.com:8443", "gw-0042", "/etc/moat-agent/device.key"
	// Its settings block says it holds the defaults of the remote configuration.
	want.Settings = agentconf.Defaults()
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("deploy/agent.yaml (-want +loaded):\n%s", d)
	}

	key := filepath.Join(t.TempDir(), "device.key")
	if err := os.WriteFile(key, []byte("yEACbl9klhj/sCWFQb5DALqjdQWZcEbpDePBlYmgi38=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.KeyFile = key
	if err := c.Validate(); err != nil {
		t.Errorf("deploy/agent.yaml does not validate: %v", err)
	}
	if c.Namespace != "moat.example.com" || c.ConfigPoll != time.Hour {
		t.Errorf("after Validate: namespace %q, configPoll %s", c.Namespace, c.ConfigPoll)
	}
}

// TestDeployAgentYAMLListsEveryKey: every key of agent.Config is in the
// example, set or commented out.
func TestDeployAgentYAMLListsEveryKey(t *testing.T) {
	text := readFile(t, filepath.Join(deployDir, "agent.yaml"))
	for _, key := range tagNames(t, agent.Config{}, "yaml") {
		if !regexp.MustCompile(`(?m)^#?` + regexp.QuoteMeta(key) + `:`).MatchString(text) {
			t.Errorf("deploy/agent.yaml does not mention the key %q", key)
		}
	}
}

// TestAgentDocListsEveryKey: docs/agent.md names every key of the local
// configuration file, every key of the remote configuration and every
// flag of every command.
func TestAgentDocListsEveryKey(t *testing.T) {
	doc := readFile(t, agentDoc)
	for _, key := range tagNames(t, agent.Config{}, "yaml") {
		if !strings.Contains(doc, "| `"+key+"` |") {
			t.Errorf("docs/agent.md: no table row for the configuration key %q", key)
		}
	}
	for _, key := range tagNames(t, agentconf.Config{}, "json") {
		if !strings.Contains(doc, "| `"+key+"` |") {
			t.Errorf("docs/agent.md: no table row for the remote configuration key %q", key)
		}
	}
	root := newRoot(io.Discard, io.Discard)
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.Hidden {
			return
		}
		check := func(f *pflag.Flag) {
			if f.Name == "help" || f.Name == "version" {
				return
			}
			if !strings.Contains(doc, "--"+f.Name) {
				t.Errorf("docs/agent.md does not mention %q's flag --%s", cmd.CommandPath(), f.Name)
			}
		}
		cmd.LocalFlags().VisitAll(check)
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, name := range []string{"run", "replay", "snapshot", "bench footprint", "bench steady"} {
		if !strings.Contains(doc, "### `"+name) {
			t.Errorf("docs/agent.md has no section for %q", name)
		}
	}
}

// TestDeployMoatRules: deploy/moat.rules is the rule file the agent embeds
// (what an operator installs when the agent may not).
func TestDeployMoatRules(t *testing.T) {
	if got := readFile(t, filepath.Join(deployDir, "moat.rules")); got != audit.RulesFile() {
		t.Errorf("deploy/moat.rules differs from internal/agent/audit/moat.rules:\n%s",
			cmp.Diff(audit.RulesFile(), got))
	}
}

// TestDeployUnit checks what the systemd unit must agree on with the agent:
// the command line, the writable state directory, and the same capabilities
// for root (bounding set) and for the non-root variant (ambient set).
func TestDeployUnit(t *testing.T) {
	unit := readFile(t, filepath.Join(deployDir, "moat-agent.service"))
	settings := map[string][]string{}
	for line := range strings.Lines(unit) {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "#") // the commented non-root variant counts too
		k, v, ok := strings.Cut(line, "=")
		if ok && !strings.Contains(k, " ") {
			settings[k] = append(settings[k], v)
		}
	}
	one := func(key string) string {
		t.Helper()
		if len(settings[key]) != 1 {
			t.Fatalf("moat-agent.service: want one %s=, have %q", key, settings[key])
		}
		return settings[key][0]
	}
	if got := one("ExecStart"); got != "/usr/local/bin/moat-agent run --config /etc/moat-agent/agent.yaml" {
		t.Errorf("ExecStart=%s", got)
	}
	state := agent.Defaults().State
	if got := one("ReadWritePaths"); got != state {
		t.Errorf("ReadWritePaths=%s, want the default state directory %s", got, state)
	}
	if got := one("StateDirectory"); "/var/lib/"+got != state {
		t.Errorf("StateDirectory=%s does not make %s", got, state)
	}
	for key, want := range map[string]string{"Type": "simple", "Restart": "on-failure", "NoNewPrivileges": "yes",
		"ProtectSystem": "strict", "ProtectHome": "read-only", "PrivateTmp": "yes", "User": "moat-agent"} {
		if got := one(key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	bounding := strings.Fields(one("CapabilityBoundingSet"))
	ambient := strings.Fields(one("AmbientCapabilities"))
	slices.Sort(bounding)
	slices.Sort(ambient)
	if d := cmp.Diff(bounding, ambient); d != "" {
		t.Errorf("CapabilityBoundingSet and AmbientCapabilities differ (-bounding +ambient):\n%s", d)
	}
	doc := readFile(t, agentDoc)
	for _, c := range bounding {
		if !strings.Contains(doc, "`"+c+"`") {
			t.Errorf("docs/agent.md does not explain %s", c)
		}
	}
}
