package notify

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/center"
)

// Limits of a configuration.
const (
	MaxChannels       = 64
	MaxRules          = 256
	MaxRecipients     = 50
	MaxHeaders        = 32
	MaxRuleIDs        = 200
	MaxTags           = 32
	MaxAttempts       = 10
	MinSecretLen      = 16
	MaxSecretLen      = 1024
	MinPerAlert       = time.Second
	MaxPerAlert       = 7 * 24 * time.Hour
	MaxPerChannel     = 10000
	MinEmailTimeout   = time.Second
	MinHookTimeout    = 100 * time.Millisecond
	MaxAttemptTimeout = 5 * time.Minute
)

// FieldError is a configuration that is not valid; Field names the
// setting, as a JSON path ("channels[1].email.port").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "notify config: " + e.Field + ": " + e.Message }

// reservedHeaders cannot be set through WebhookConfig.Headers.
var reservedHeaders = []string{"content-type", "content-length", "host", "user-agent",
	"x-moat-signature", "x-moat-timestamp", "x-moat-delivery", "transfer-encoding", "connection"}

// Validate checks every setting and returns all the problems found, each
// a *FieldError (joined with errors.Join).
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(c.Channels) > MaxChannels {
		add("channels", "at most %d channels, got %d", MaxChannels, len(c.Channels))
	}
	names := map[string]bool{}
	for i, ch := range c.Channels {
		f := fmt.Sprintf("channels[%d]", i)
		if msg := checkName(ch.Name); msg != "" {
			add(f+".name", "%s", msg)
		} else if names[ch.Name] {
			add(f+".name", "%q is used by another channel", ch.Name)
		}
		names[ch.Name] = true
		switch ch.Type {
		case TypeEmail:
			if ch.Webhook != nil {
				add(f+".webhook", "set on an email channel")
			}
			if ch.Email == nil {
				add(f+".email", "required for type email")
				continue
			}
			ch.Email.validate(f+".email", add)
		case TypeWebhook:
			if ch.Email != nil {
				add(f+".email", "set on a webhook channel")
			}
			if ch.Webhook == nil {
				add(f+".webhook", "required for type webhook")
				continue
			}
			ch.Webhook.validate(f+".webhook", add)
		default:
			add(f+".type", "%q: want %q or %q", clip(ch.Type), TypeEmail, TypeWebhook)
		}
	}
	if len(c.Rules) > MaxRules {
		add("rules", "at most %d rules, got %d", MaxRules, len(c.Rules))
	}
	ruleNames := map[string]bool{}
	for i, r := range c.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if msg := checkName(r.Name); msg != "" {
			add(f+".name", "%s", msg)
		} else if ruleNames[r.Name] {
			add(f+".name", "%q is used by another rule", r.Name)
		}
		ruleNames[r.Name] = true
		if r.MinSeverity != "" && center.SeverityRank(r.MinSeverity) < 0 {
			add(f+".minSeverity", "%q: want High, Medium, Low or Informational", clip(r.MinSeverity))
		}
		if len(r.Rules) > MaxRuleIDs {
			add(f+".rules", "at most %d rule ids", MaxRuleIDs)
		}
		for j, id := range r.Rules {
			if id == "" || len(id) > 128 || hasControl(id) {
				add(fmt.Sprintf("%s.rules[%d]", f, j), "a rule id is 1 to 128 printable characters")
			}
		}
		if len(r.DeviceTags) > MaxTags {
			add(f+".deviceTags", "at most %d tags", MaxTags)
		}
		for _, k := range slices.Sorted(maps.Keys(r.DeviceTags)) {
			v := r.DeviceTags[k]
			if k == "" || len(k) > 128 || len(v) > 256 || hasControl(k) || hasControl(v) {
				add(f+".deviceTags", "tag %q: a key is 1 to 128 printable characters, a value at most 256", clip(k))
			}
		}
		if len(r.Channels) == 0 {
			add(f+".channels", "at least one channel")
		}
		for j, name := range r.Channels {
			if !names[name] {
				add(fmt.Sprintf("%s.channels[%d]", f, j), "no channel named %q", clip(name))
			}
		}
	}
	if v := c.Throttle.PerAlert.D(); v != 0 && (v < MinPerAlert || v > MaxPerAlert) {
		add("throttle.perAlert", "%s is outside [%s, %s]", v, MinPerAlert, MaxPerAlert)
	}
	if v := c.Throttle.PerChannel; v != 0 && (v < 1 || v > MaxPerChannel) {
		add("throttle.perChannel", "%d is outside [1, %d]", v, MaxPerChannel)
	}
	if c.DigestAt != "" {
		if _, _, ok := parseHHMM(c.DigestAt); !ok {
			add("digestAt", "%q: want HH:MM, 00:00 to 23:59", clip(c.DigestAt))
		}
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil || strings.ContainsAny(c.TimeZone, "\x00") {
			add("timeZone", "%q is not a known IANA time zone (e.g. Europe/Paris)", clip(c.TimeZone))
		}
	}
	return joinErrs(errs)
}

func (e *EmailConfig) validate(f string, add func(field, format string, args ...any)) {
	switch {
	case e.Host == "" || len(e.Host) > 253 || strings.ContainsAny(e.Host, " /\\@[]") || hasControl(e.Host):
		add(f+".host", "%q: want a host name or address", clip(e.Host))
	case strings.Contains(e.Host, ":") && net.ParseIP(e.Host) == nil:
		add(f+".host", "%q: a host name or address without port (set port)", clip(e.Host))
	}
	if e.Port < 0 || e.Port > 65535 {
		add(f+".port", "%d is outside [1, 65535]", e.Port)
	}
	if e.From == "" {
		add(f+".from", "required")
	} else if _, err := parseAddress(e.From); err != nil {
		add(f+".from", "%q: %v", clip(e.From), err)
	}
	if len(e.To) == 0 {
		add(f+".to", "at least one recipient")
	}
	if len(e.To) > MaxRecipients {
		add(f+".to", "at most %d recipients", MaxRecipients)
	}
	for i, to := range e.To {
		if _, err := parseAddress(to); err != nil {
			add(fmt.Sprintf("%s.to[%d]", f, i), "%q: %v", clip(to), err)
		}
	}
	switch e.StartTLS {
	case "", StartTLSRequired, StartTLSOpportunistic, StartTLSNone:
	default:
		add(f+".startTLS", "%q: want %q, %q or %q", clip(e.StartTLS), StartTLSRequired, StartTLSOpportunistic, StartTLSNone)
	}
	if e.TLS && (e.StartTLS == StartTLSOpportunistic || e.StartTLS == StartTLSNone) {
		add(f+".startTLS", "%q does not apply with tls (implicit TLS is always required)", e.StartTLS)
	}
	if e.Username != "" && e.Password == "" {
		add(f+".password", "required with a username")
	}
	if e.Username == "" && e.Password != "" {
		add(f+".username", "required with a password")
	}
	if strings.ContainsRune(e.Username, 0) || hasControl(e.Username) || len(e.Username) > 256 {
		add(f+".username", "at most 256 printable characters")
	}
	if strings.ContainsRune(string(e.Password), 0) || len(e.Password) > 256 {
		add(f+".password", "at most 256 bytes, no NUL")
	}
	if e.Username != "" && !e.TLS && e.StartTLS == StartTLSNone {
		add(f+".startTLS", "credentials are never sent in clear: use %q or %q with a username, or tls", StartTLSRequired, StartTLSOpportunistic)
	}
	if v := e.Timeout.D(); v != 0 && (v < MinEmailTimeout || v > MaxAttemptTimeout) {
		add(f+".timeout", "%s is outside [%s, %s]", v, MinEmailTimeout, MaxAttemptTimeout)
	}
}

func (w *WebhookConfig) validate(f string, add func(field, format string, args ...any)) {
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		add(f+".url", "required")
	case len(w.URL) > 2048:
		add(f+".url", "at most 2048 characters")
	case err != nil:
		add(f+".url", "not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		add(f+".url", "want an http or https URL")
	case u.Host == "":
		add(f+".url", "has no host")
	case u.User != nil:
		add(f+".url", "credentials in the URL are not supported; use headers")
	case u.Fragment != "":
		add(f+".url", "has a fragment")
	}
	if n := len(w.Secret); n != 0 && (n < MinSecretLen || n > MaxSecretLen) {
		add(f+".secret", "%d bytes: want %d to %d", n, MinSecretLen, MaxSecretLen)
	}
	if len(w.Headers) > MaxHeaders {
		add(f+".headers", "at most %d headers", MaxHeaders)
	}
	for _, k := range slices.Sorted(maps.Keys(w.Headers)) {
		v := w.Headers[k]
		switch {
		case !isToken(k):
			add(f+".headers", "%q is not a valid header name", clip(k))
		case slices.Contains(reservedHeaders, strings.ToLower(k)):
			add(f+".headers."+k, "set by Moat; cannot be overridden")
		case hasControl(v) || len(v) > 4096:
			add(f+".headers."+k, "a value is at most 4096 printable characters")
		}
	}
	if v := w.Timeout.D(); v != 0 && (v < MinHookTimeout || v > MaxAttemptTimeout) {
		add(f+".timeout", "%s is outside [%s, %s]", v, MinHookTimeout, MaxAttemptTimeout)
	}
	if w.Attempts < 0 || w.Attempts > MaxAttempts {
		add(f+".attempts", "%d is outside [1, %d]", w.Attempts, MaxAttempts)
	}
}

// parseAddress parses one RFC 5322 address and refuses what would not
// survive an SMTP envelope.
func parseAddress(s string) (*mail.Address, error) {
	if len(s) > 320 || hasControl(s) {
		return nil, errors.New("not a valid address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errors.New("not a valid address")
	}
	if !strings.Contains(a.Address, "@") || strings.ContainsAny(a.Address, " <>") {
		return nil, errors.New("not a valid address")
	}
	return a, nil
}

// parseHHMM parses "HH:MM".
func parseHHMM(s string) (h, m int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, false
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	return h, m, h < 24 && m < 60
}

func checkName(s string) string {
	if s == "" || len(s) > 64 {
		return "a name is 1 to 64 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_' || c == '.'))) {
			return fmt.Sprintf("%q: letters, digits, '-', '_' and '.', starting with a letter or digit", clip(s))
		}
	}
	return ""
}

func isToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return true
		}
	}
	return false
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
