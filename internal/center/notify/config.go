package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Channel types.
const (
	TypeEmail   = "email"
	TypeWebhook = "webhook"
)

// StartTLS modes of an email channel.
const (
	StartTLSRequired      = "required"      // refuse to send without STARTTLS (default)
	StartTLSOpportunistic = "opportunistic" // use STARTTLS when offered
	StartTLSNone          = "none"          // never (no credentials allowed then)
)

// Defaults.
const (
	DefaultPerAlert       = 15 * time.Minute
	DefaultPerChannel     = 30 // messages per channel per minute
	DefaultDigestAt       = "08:00"
	DefaultEmailTimeout   = 30 * time.Second
	DefaultWebhookTimeout = 10 * time.Second
	DefaultAttempts       = 5 // webhook delivery attempts
)

// Redacted stands for a secret in a View. Given back to KeepSecrets, it
// means "keep the stored value".
const Redacted = "********"

// Config is the notification settings: channels, the rules that route
// alerts to them, throttling and the daily digest. Zero fields take their
// defaults. It marshals to JSON in full (secrets included) for storage;
// use View for anything shown to people.
type Config struct {
	Channels []Channel `json:"channels,omitempty"`
	Rules    []Rule    `json:"rules,omitempty"`
	Throttle Throttle  `json:"throttle,omitzero"`
	// DigestAt is when the daily digest leaves, "HH:MM" in TimeZone
	// (default "08:00").
	DigestAt string `json:"digestAt,omitempty"`
	// TimeZone is an IANA time zone name for DigestAt (default "UTC").
	TimeZone string `json:"timeZone,omitempty"`
}

// Channel is where notifications go: exactly one of Email and Webhook,
// matching Type.
type Channel struct {
	Name    string         `json:"name"`
	Type    string         `json:"type"` // TypeEmail or TypeWebhook
	Email   *EmailConfig   `json:"email,omitempty"`
	Webhook *WebhookConfig `json:"webhook,omitempty"`
}

// EmailConfig is an SMTP submission account and the recipients.
type EmailConfig struct {
	Host string `json:"host"`
	// Port defaults to 587, or 465 with TLS.
	Port     int    `json:"port,omitzero"`
	Username string `json:"username,omitempty"` // empty = no AUTH
	Password Secret `json:"password,omitempty"`
	// From is the sender address ("Moat <moat@example.com>" or a bare address).
	From string   `json:"from"`
	To   []string `json:"to"`
	// StartTLS is StartTLSRequired (default), StartTLSOpportunistic or
	// StartTLSNone; it does not apply with TLS.
	StartTLS string `json:"startTLS,omitempty"`
	// TLS is implicit TLS from the first byte (SMTPS, port 465).
	TLS bool `json:"tls,omitempty"`
	// InsecureSkipVerify accepts any server certificate (tests only).
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// HTML adds an HTML alternative to the plain-text body.
	HTML bool `json:"html,omitempty"`
	// Timeout bounds one delivery attempt (default 30s).
	Timeout Duration `json:"timeout,omitzero"`
}

// WebhookConfig is an HTTP(S) endpoint receiving signed JSON POSTs.
type WebhookConfig struct {
	URL string `json:"url"`
	// Secret is the HMAC-SHA256 key of X-Moat-Signature (at least 16
	// bytes); empty = unsigned.
	Secret Secret `json:"secret,omitempty"`
	// Headers are added to every request (e.g. an Authorization header
	// the receiver wants); their values are hidden in a View.
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds one attempt (default 10s).
	Timeout Duration `json:"timeout,omitzero"`
	// Attempts is the most tries of one delivery (default 5, at most 10).
	Attempts int `json:"attempts,omitzero"`
}

// Rule routes the alerts it matches to channels. All set conditions must
// hold.
type Rule struct {
	Name string `json:"name"`
	// MinSeverity: alerts at least this severe (default: any).
	MinSeverity string `json:"minSeverity,omitempty"`
	// Rules are alert rule ids (e.g. "ssh-brute-force"); empty = any.
	Rules []string `json:"rules,omitempty"`
	// DeviceTags must all be present on the alert's device with these
	// values (needs Options.Tags).
	DeviceTags map[string]string `json:"deviceTags,omitempty"`
	Channels   []string          `json:"channels"`
	// Digest sends the matched alerts in the daily digest instead of at once.
	Digest bool `json:"digest,omitempty"`
}

// Throttle limits how often people are told.
type Throttle struct {
	// PerAlert: an alert already notified on a channel is notified there
	// again only when its severity rose or after this (default 15m).
	PerAlert Duration `json:"perAlert,omitzero"`
	// PerChannel: at most this many messages per channel per minute
	// (default 30); the excess goes to the next digest.
	PerChannel int `json:"perChannel,omitzero"`
}

// Secret is a string that never prints: String, GoString and LogValue
// give Redacted (or "" when empty). JSON marshaling keeps the value, for
// storage; Config.View hides it.
type Secret string

// String returns Redacted, or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString is String, quoted.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue keeps secrets out of slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Duration is a time.Duration written as a Go duration string ("15m").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"15m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Parse decodes a configuration strictly (unknown fields are errors) and
// validates it.
func Parse(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, &FieldError{Field: "(body)", Message: err.Error()}
	}
	if dec.More() {
		return Config{}, &FieldError{Field: "(body)", Message: "more than one JSON value"}
	}
	return c, c.Validate()
}

// View returns a deep copy fit to show or log: passwords, webhook secrets
// and webhook header values are Redacted.
func (c Config) View() Config {
	v := c.clone()
	for i := range v.Channels {
		v.Channels[i] = v.Channels[i].view()
	}
	return v
}

// view redacts a channel's secrets in place of a cloned channel.
func (ch Channel) view() Channel {
	if ch.Email != nil {
		e := ch.Email.view()
		ch.Email = &e
	}
	if ch.Webhook != nil {
		w := ch.Webhook.view()
		ch.Webhook = &w
	}
	return ch
}

func (e EmailConfig) view() EmailConfig {
	e.To = append([]string(nil), e.To...)
	if e.Password != "" {
		e.Password = Redacted
	}
	return e
}

func (w WebhookConfig) view() WebhookConfig {
	if w.Secret != "" {
		w.Secret = Redacted
	}
	if w.Headers != nil {
		h := make(map[string]string, len(w.Headers))
		for k := range w.Headers {
			h[k] = Redacted
		}
		w.Headers = h
	}
	return w
}

// The view types have the fields and JSON names of the configuration
// types without their methods, so that LogValue can hand slog a redacted
// copy: a Config logged through a JSON handler would otherwise be
// marshaled with its secrets.
type (
	configView  Config
	channelView Channel
	emailView   EmailConfig
	webhookView WebhookConfig
)

// LogValue logs the View.
func (c Config) LogValue() slog.Value { return slog.AnyValue(configView(c.View())) }

// LogValue logs the channel with its secrets Redacted.
func (ch Channel) LogValue() slog.Value { return slog.AnyValue(channelView(ch.view())) }

// LogValue logs the settings with the password Redacted.
func (e EmailConfig) LogValue() slog.Value { return slog.AnyValue(emailView(e.view())) }

// LogValue logs the settings with the secret and header values Redacted.
func (w WebhookConfig) LogValue() slog.Value { return slog.AnyValue(webhookView(w.view())) }

// KeepSecrets replaces, in c, every secret equal to Redacted (as a View
// shows it) with the value of the same-named channel in prev, so that a
// View edited and sent back keeps the stored secrets. A Redacted value
// with nothing to keep is an error.
func (c *Config) KeepSecrets(prev Config) error {
	old := map[string]Channel{}
	for _, ch := range prev.Channels {
		old[ch.Name] = ch
	}
	var errs []error
	missing := func(field string) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf("%q stands for a stored secret, but there is none", Redacted)})
	}
	for i := range c.Channels {
		ch := &c.Channels[i]
		p, had := old[ch.Name]
		f := fmt.Sprintf("channels[%d]", i)
		if ch.Email != nil && ch.Email.Password == Redacted {
			if had && p.Email != nil && p.Email.Password != "" {
				ch.Email.Password = p.Email.Password
			} else {
				missing(f + ".email.password")
			}
		}
		if ch.Webhook == nil {
			continue
		}
		if ch.Webhook.Secret == Redacted {
			if had && p.Webhook != nil && p.Webhook.Secret != "" {
				ch.Webhook.Secret = p.Webhook.Secret
			} else {
				missing(f + ".webhook.secret")
			}
		}
		for k, v := range ch.Webhook.Headers {
			if v != Redacted {
				continue
			}
			if pv, ok := headerValue(p.Webhook, k); had && ok {
				ch.Webhook.Headers[k] = pv
			} else {
				missing(f + ".webhook.headers." + k)
			}
		}
	}
	return joinErrs(errs)
}

func headerValue(w *WebhookConfig, k string) (string, bool) {
	if w == nil {
		return "", false
	}
	v, ok := w.Headers[k]
	return v, ok
}

// clone deep-copies c.
func (c Config) clone() Config {
	v := c
	v.Channels = make([]Channel, len(c.Channels))
	for i, ch := range c.Channels {
		if ch.Email != nil {
			e := *ch.Email
			e.To = append([]string(nil), e.To...)
			ch.Email = &e
		}
		if ch.Webhook != nil {
			w := *ch.Webhook
			if w.Headers != nil {
				w.Headers = make(map[string]string, len(ch.Webhook.Headers))
				for k, val := range ch.Webhook.Headers {
					w.Headers[k] = val
				}
			}
			ch.Webhook = &w
		}
		v.Channels[i] = ch
	}
	v.Rules = make([]Rule, len(c.Rules))
	for i, r := range c.Rules {
		r.Rules = append([]string(nil), r.Rules...)
		r.Channels = append([]string(nil), r.Channels...)
		if r.DeviceTags != nil {
			tags := make(map[string]string, len(r.DeviceTags))
			for k, val := range r.DeviceTags {
				tags[k] = val
			}
			r.DeviceTags = tags
		}
		v.Rules[i] = r
	}
	if c.Channels == nil {
		v.Channels = nil
	}
	if c.Rules == nil {
		v.Rules = nil
	}
	return v
}
