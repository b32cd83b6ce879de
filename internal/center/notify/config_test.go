package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validConfig() Config {
	return Config{
		Channels: []Channel{
			{Name: "ops-mail", Type: TypeEmail, Email: &EmailConfig{Host: "smtp.example.com", Username: "moat", Password: "smtp-password",
				From: "Moat <moat@example.com>", To: []string{"ops@example.com"}}},
			{Name: "siem", Type: TypeWebhook, Webhook: &WebhookConfig{URL: "https://siem.example.com/moat", Secret: "0123456789abcdef",
				Headers: map[string]string{"Authorization": "Bearer xyz"}}},
		},
		Rules: []Rule{{Name: "high", MinSeverity: "High", Channels: []string{"ops-mail", "siem"}}},
	}
}

// fields returns the Field of every *FieldError in err.
func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		} else if errors.As(e, &fe) {
			out = append(out, fe.Field)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func TestValidate(t *testing.T) {
	email := func(m func(*EmailConfig)) func(*Config) { return func(c *Config) { m(c.Channels[0].Email) } }
	hook := func(m func(*WebhookConfig)) func(*Config) { return func(c *Config) { m(c.Channels[1].Webhook) } }
	rule := func(m func(*Rule)) func(*Config) { return func(c *Config) { m(&c.Rules[0]) } }
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want []string
	}{
		{"valid", func(*Config) {}, nil},
		{"empty is valid", func(c *Config) { *c = Config{} }, nil},
		{"duplicate channel", func(c *Config) {
			c.Channels[1].Name = "ops-mail"
			c.Channels[1].Type = TypeEmail
			c.Channels[1].Email = c.Channels[0].Email
			c.Channels[1].Webhook = nil
		},
			[]string{"channels[1].name", "rules[0].channels[1]"}},
		{"bad channel name", func(c *Config) { c.Channels[0].Name = "-x y"; c.Rules = nil }, []string{"channels[0].name"}},
		{"unknown type", func(c *Config) { c.Channels[0].Type = "sms" }, []string{"channels[0].type"}},
		{"email settings missing", func(c *Config) { c.Channels[0].Email = nil }, []string{"channels[0].email"}},
		{"both settings", func(c *Config) { c.Channels[0].Webhook = c.Channels[1].Webhook }, []string{"channels[0].webhook"}},
		{"host with port", email(func(e *EmailConfig) { e.Host = "smtp.example.com:587" }), []string{"channels[0].email.host"}},
		{"IPv6 host", email(func(e *EmailConfig) { e.Host = "2001:db8::25" }), nil},
		{"no host", email(func(e *EmailConfig) { e.Host = "" }), []string{"channels[0].email.host"}},
		{"port", email(func(e *EmailConfig) { e.Port = 70000 }), []string{"channels[0].email.port"}},
		{"from", email(func(e *EmailConfig) { e.From = "not an address" }), []string{"channels[0].email.from"}},
		{"no recipients", email(func(e *EmailConfig) { e.To = nil }), []string{"channels[0].email.to"}},
		{"bad recipient", email(func(e *EmailConfig) { e.To = []string{"ok@example.com", "bad\r\nBcc: x@y"} }), []string{"channels[0].email.to[1]"}},
		{"startTLS word", email(func(e *EmailConfig) { e.StartTLS = "always" }), []string{"channels[0].email.startTLS"}},
		{"credentials in clear", email(func(e *EmailConfig) { e.StartTLS = StartTLSNone }), []string{"channels[0].email.startTLS"}},
		{"none without credentials", email(func(e *EmailConfig) { e.StartTLS, e.Username, e.Password = StartTLSNone, "", "" }), nil},
		{"tls with opportunistic", email(func(e *EmailConfig) { e.TLS, e.StartTLS = true, StartTLSOpportunistic }), []string{"channels[0].email.startTLS"}},
		{"username without password", email(func(e *EmailConfig) { e.Password = "" }), []string{"channels[0].email.password"}},
		{"password without username", email(func(e *EmailConfig) { e.Username = "" }), []string{"channels[0].email.username"}},
		{"NUL in password", email(func(e *EmailConfig) { e.Password = "a\x00b" }), []string{"channels[0].email.password"}},
		{"email timeout", email(func(e *EmailConfig) { e.Timeout = Duration(time.Hour) }), []string{"channels[0].email.timeout"}},
		{"no URL", hook(func(w *WebhookConfig) { w.URL = "" }), []string{"channels[1].webhook.url"}},
		{"ftp URL", hook(func(w *WebhookConfig) { w.URL = "ftp://example.com/x" }), []string{"channels[1].webhook.url"}},
		{"relative URL", hook(func(w *WebhookConfig) { w.URL = "/hook" }), []string{"channels[1].webhook.url"}},
		{"URL with credentials", hook(func(w *WebhookConfig) { w.URL = "https://u:p@example.com/" }), []string{"channels[1].webhook.url"}},
		{"short secret", hook(func(w *WebhookConfig) { w.Secret = "short" }), []string{"channels[1].webhook.secret"}},
		{"reserved header", hook(func(w *WebhookConfig) { w.Headers = map[string]string{"x-moat-signature": "forged"} }), []string{"channels[1].webhook.headers.x-moat-signature"}},
		{"bad header name", hook(func(w *WebhookConfig) { w.Headers = map[string]string{"Bad Name": "v"} }), []string{"channels[1].webhook.headers"}},
		{"header value with CRLF", hook(func(w *WebhookConfig) { w.Headers = map[string]string{"X-A": "v\r\nX-B: w"} }), []string{"channels[1].webhook.headers.X-A"}},
		{"attempts", hook(func(w *WebhookConfig) { w.Attempts = 11 }), []string{"channels[1].webhook.attempts"}},
		{"hook timeout", hook(func(w *WebhookConfig) { w.Timeout = Duration(time.Millisecond) }), []string{"channels[1].webhook.timeout"}},
		{"rule without channels", rule(func(r *Rule) { r.Channels = nil }), []string{"rules[0].channels"}},
		{"rule to unknown channel", rule(func(r *Rule) { r.Channels = []string{"siem", "pager"} }), []string{"rules[0].channels[1]"}},
		{"severity", rule(func(r *Rule) { r.MinSeverity = "Critical" }), []string{"rules[0].minSeverity"}},
		{"empty rule id", rule(func(r *Rule) { r.Rules = []string{"ok", ""} }), []string{"rules[0].rules[1]"}},
		{"empty tag key", rule(func(r *Rule) { r.DeviceTags = map[string]string{"": "x"} }), []string{"rules[0].deviceTags"}},
		{"duplicate rule", func(c *Config) { c.Rules = append(c.Rules, c.Rules[0]) }, []string{"rules[1].name"}},
		{"perAlert", func(c *Config) { c.Throttle.PerAlert = Duration(time.Millisecond) }, []string{"throttle.perAlert"}},
		{"perChannel", func(c *Config) { c.Throttle.PerChannel = -1 }, []string{"throttle.perChannel"}},
		{"digestAt", func(c *Config) { c.DigestAt = "24:00" }, []string{"digestAt"}},
		{"digestAt format", func(c *Config) { c.DigestAt = "8:00" }, []string{"digestAt"}},
		{"timeZone", func(c *Config) { c.TimeZone = "Mars/Olympus" }, []string{"timeZone"}},
		{"all at once", func(c *Config) { c.DigestAt, c.Throttle.PerChannel, c.Rules[0].MinSeverity = "x", 1e6, "y" },
			[]string{"rules[0].minSeverity", "throttle.perChannel", "digestAt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig().clone()
			tc.mut(&c)
			err := c.Validate()
			if diff := cmp.Diff(tc.want, fields(err)); diff != "" {
				t.Errorf("fields in error (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "notify config: ") {
				t.Errorf("error %q lacks the prefix", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`{"channels":[{"name":"h","type":"webhook","webhook":{"url":"https://x.example/h","timeout":"5s"}}],
		"rules":[{"name":"r","channels":["h"]}],"throttle":{"perAlert":"1h","perChannel":10},"digestAt":"07:30","timeZone":"UTC"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Channels[0].Webhook.Timeout.D() != 5*time.Second || c.Throttle.PerAlert.D() != time.Hour || c.DigestAt != "07:30" {
		t.Errorf("parsed %+v", c)
	}
	for in, field := range map[string]string{
		`{"channels":[],"bogus":1}`:     "(body)",
		`{} {}`:                         "(body)",
		`{"throttle":{"perAlert":900}}`: "(body)",
		`{"rules":[{"name":"r","channels":["nope"]}]}`: "rules[0].channels[0]",
	} {
		_, err := Parse([]byte(in))
		if got := fields(err); len(got) != 1 || got[0] != field {
			t.Errorf("Parse(%s) = %v, want a %s error", in, err, field)
		}
	}
}

func TestExampleConfigParses(t *testing.T) {
	// docs/notifications.md shows this file; keep it valid.
	data, err := os.ReadFile(filepath.Join("testdata", "example-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(c, Options{Tags: tagMap{}}); err != nil {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	cc, err := compile(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if cc.perAlert != 15*time.Minute || cc.perChannel != 30 || cc.hour != 8 || cc.min != 0 || cc.loc != time.UTC {
		t.Errorf("defaults: %+v", cc)
	}
	e := validConfig().Channels[0].Email
	if e.port() != 587 {
		t.Errorf("port = %d", e.port())
	}
	e.TLS = true
	if e.port() != 465 {
		t.Errorf("TLS port = %d", e.port())
	}
}

func TestViewAndKeepSecrets(t *testing.T) {
	c := validConfig()
	stored, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored), "smtp-password") || !strings.Contains(string(stored), "0123456789abcdef") {
		t.Errorf("the storage form lost the secrets: %s", stored)
	}
	v := c.View()
	shown, _ := json.Marshal(v)
	for _, s := range []string{"smtp-password", "0123456789abcdef", "Bearer xyz"} {
		if strings.Contains(string(shown), s) {
			t.Errorf("View shows %q: %s", s, shown)
		}
	}
	if c.Channels[0].Email.Password != "smtp-password" || c.Channels[1].Webhook.Headers["Authorization"] != "Bearer xyz" {
		t.Error("View changed the original")
	}
	// An edited view sent back keeps the stored secrets.
	v.Channels[0].Email.To = []string{"new@example.com"}
	if err := v.KeepSecrets(c); err != nil {
		t.Fatal(err)
	}
	want := c.clone()
	want.Channels[0].Email.To = []string{"new@example.com"}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("KeepSecrets (-want +got):\n%s", diff)
	}
	// A redacted value for a new channel has nothing to keep.
	v2 := c.View()
	v2.Channels[1].Name = "renamed"
	err = v2.KeepSecrets(c)
	if diff := cmp.Diff([]string{"channels[1].webhook.secret", "channels[1].webhook.headers.Authorization"}, fields(err)); diff != "" {
		t.Errorf("KeepSecrets errors (-want +got):\n%s", diff)
	}
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("hunter2-secret")
	for _, verb := range []string{"%v", "%s", "%q", "%+v", "%#v", "%x"} {
		if got := fmt.Sprintf(verb, s); strings.Contains(got, "hunter2") || strings.Contains(got, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("%s shows the secret: %s", verb, got)
		}
	}
	if fmt.Sprint(Secret("")) != "" || s.String() != Redacted {
		t.Error("String")
	}
	c := validConfig()
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		for _, x := range []any{c, *c.Channels[0].Email, c.Channels[0].Email, *c.Channels[1].Webhook} {
			if got := fmt.Sprintf(verb, x); strings.Contains(got, "smtp-password") || strings.Contains(got, "0123456789abcdef") {
				t.Errorf("%s of %T shows a secret: %s", verb, x, got)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"channels":[{"name":"a","type":"email","email":{"host":"h","from":"a@b","to":["c@d"]}}]}`,
		`{"rules":[{"name":"r","channels":["x"],"deviceTags":{"":""}}],"digestAt":"99:99","timeZone":"../../etc/passwd"}`,
		`{"channels":[{"name":"w","type":"webhook","webhook":{"url":"http://[::1]:80/x","headers":{"A":"\u0000"},"timeout":"-1s"}}]}`} {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "example-config.json")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			for _, fe := range fields(err) {
				if fe == "" {
					t.Fatalf("error without a field: %v", err)
				}
			}
			return
		}
		if _, err := compile(c); err != nil {
			t.Fatalf("valid config does not compile: %v", err)
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if !slices.EqualFunc(c.Channels, c2.Channels, func(a, b Channel) bool { return a.Name == b.Name }) {
			t.Fatal("round trip changed the channels")
		}
		v := c.View()
		if err := v.KeepSecrets(c); err != nil {
			t.Fatalf("KeepSecrets of its own view: %v", err)
		}
	})
}
