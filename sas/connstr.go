package sas

import (
	"fmt"
	"strings"
)

// Connection string keys in their canonical spelling.
const (
	keyEndpoint              = "Endpoint"
	keySharedAccessKeyName   = "SharedAccessKeyName"
	keySharedAccessKey       = "SharedAccessKey"
	keySharedAccessSignature = "SharedAccessSignature"
	keyEntityPath            = "EntityPath"
)

// maxConnectionStringLen bounds the input to ParseConnectionString: room for
// a token of MaxTokenLen plus the other fields.
const maxConnectionStringLen = 2 * MaxTokenLen

// ConnectionString is a parsed Event Hubs or Service Bus connection string,
//
//	Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=…;EntityPath=hub
//
// or, carrying a ready-made token instead of a key,
//
//	Endpoint=sb://ns.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=…;EntityPath=hub
//
// Its fields hold the values as written, without surrounding whitespace.
// SharedAccessKey is a secret, as is the signature inside
// SharedAccessSignature: use [ConnectionString.Redacted] to log one.
type ConnectionString struct {
	Endpoint              string // URL of the namespace, such as "sb://ns.servicebus.windows.net/"
	SharedAccessKeyName   string // name of the shared access policy
	SharedAccessKey       string // the policy's key text, used as written (see Sign)
	SharedAccessSignature string // a complete token, as Parse accepts
	EntityPath            string // event hub (entity) name, optional
}

// ParseConnectionString parses a connection string: key=value pairs separated
// by ";", in any order, with an optional ";" at the end. Keys are matched
// ASCII case-insensitively. A value extends from the first "=" of its pair to
// the next ";", so it may itself contain "=", as base64 keys do. Whitespace
// around the whole string and around each key and value is ignored.
//
// The keys are Endpoint (required), SharedAccessKeyName, SharedAccessKey,
// SharedAccessSignature and EntityPath. Either both SharedAccessKeyName and
// SharedAccessKey, or SharedAccessSignature, must be present, but not both
// forms. Endpoint must be scheme://host[:port] with an optional "/" at the
// end, the scheme one of sb, amqps, https and http; SharedAccessSignature must
// be a token that [Parse] accepts; values must be non-empty printable ASCII.
//
// Any other key, a repeated key, an empty segment or value, or input longer
// than 8192 bytes yields an error wrapping [ErrMalformed]. Error messages
// never contain values, which may be secret.
func ParseConnectionString(s string) (ConnectionString, error) {
	if len(s) > maxConnectionStringLen {
		return ConnectionString{}, fmt.Errorf("%w connection string: longer than %d bytes", ErrMalformed, maxConnectionStringLen)
	}
	s = strings.TrimSuffix(strings.Trim(s, " \t\r\n"), ";")
	if s == "" {
		return ConnectionString{}, fmt.Errorf("%w connection string: empty", ErrMalformed)
	}
	var c ConnectionString
	for {
		seg, rest, more := strings.Cut(s, ";")
		key, value, ok := strings.Cut(seg, "=")
		if !ok {
			if trimSpace(seg) == "" {
				return ConnectionString{}, fmt.Errorf("%w connection string: empty segment", ErrMalformed)
			}
			return ConnectionString{}, fmt.Errorf("%w connection string: segment without '='", ErrMalformed)
		}
		key, value = trimSpace(key), trimSpace(value)
		name, field := c.field(key)
		if field == nil {
			return ConnectionString{}, fmt.Errorf("%w connection string: unknown key %q", ErrMalformed, truncate(key, 32))
		}
		if *field != "" {
			return ConnectionString{}, fmt.Errorf("%w connection string: duplicate %s", ErrMalformed, name)
		}
		if value == "" {
			return ConnectionString{}, fmt.Errorf("%w connection string: empty %s", ErrMalformed, name)
		}
		for i := 0; i < len(value); i++ {
			if value[i] < ' ' || value[i] >= 0x7f {
				return ConnectionString{}, fmt.Errorf("%w connection string: %s is not printable ASCII", ErrMalformed, name)
			}
		}
		*field = value
		if !more {
			break
		}
		s = rest
	}

	if c.Endpoint == "" {
		return ConnectionString{}, fmt.Errorf("%w connection string: missing %s", ErrMalformed, keyEndpoint)
	}
	if _, ok := parseEndpoint(c.Endpoint); !ok {
		return ConnectionString{}, fmt.Errorf("%w connection string: %s is not scheme://host[:port][/] with scheme sb, amqps, https or http", ErrMalformed, keyEndpoint)
	}
	hasKey := c.SharedAccessKeyName != "" || c.SharedAccessKey != ""
	switch {
	case hasKey && c.SharedAccessSignature != "":
		return ConnectionString{}, fmt.Errorf("%w connection string: both a shared access key and %s", ErrMalformed, keySharedAccessSignature)
	case c.SharedAccessSignature != "":
		if _, err := Parse(c.SharedAccessSignature); err != nil {
			return ConnectionString{}, fmt.Errorf("%w connection string: %s: %w", ErrMalformed, keySharedAccessSignature, err)
		}
	case c.SharedAccessKeyName == "" && c.SharedAccessKey == "":
		return ConnectionString{}, fmt.Errorf("%w connection string: missing %s and %s, or %s", ErrMalformed, keySharedAccessKeyName, keySharedAccessKey, keySharedAccessSignature)
	case c.SharedAccessKeyName == "":
		return ConnectionString{}, fmt.Errorf("%w connection string: %s without %s", ErrMalformed, keySharedAccessKey, keySharedAccessKeyName)
	case c.SharedAccessKey == "":
		return ConnectionString{}, fmt.Errorf("%w connection string: %s without %s", ErrMalformed, keySharedAccessKeyName, keySharedAccessKey)
	}
	return c, nil
}

// field returns the canonical name of key and the field of c that holds its
// value, or a nil field for an unknown key.
func (c *ConnectionString) field(key string) (string, *string) {
	switch {
	case asciiEqualFold(key, keyEndpoint):
		return keyEndpoint, &c.Endpoint
	case asciiEqualFold(key, keySharedAccessKeyName):
		return keySharedAccessKeyName, &c.SharedAccessKeyName
	case asciiEqualFold(key, keySharedAccessKey):
		return keySharedAccessKey, &c.SharedAccessKey
	case asciiEqualFold(key, keySharedAccessSignature):
		return keySharedAccessSignature, &c.SharedAccessSignature
	case asciiEqualFold(key, keyEntityPath):
		return keyEntityPath, &c.EntityPath
	}
	return "", nil
}

// String formats c in canonical form: the non-empty fields in the order
// Endpoint, SharedAccessKeyName, SharedAccessKey, SharedAccessSignature,
// EntityPath, with canonical key spelling, separated by ";" and without a
// trailing ";". For every c returned by [ParseConnectionString],
// ParseConnectionString(c.String()) returns c again.
//
// The result contains the key or signature in clear; use
// [ConnectionString.Redacted] for logs.
func (c ConnectionString) String() string {
	var b strings.Builder
	b.Grow(len(c.Endpoint) + len(c.SharedAccessKeyName) + len(c.SharedAccessKey) +
		len(c.SharedAccessSignature) + len(c.EntityPath) + 100)
	for _, kv := range [...][2]string{
		{keyEndpoint, c.Endpoint},
		{keySharedAccessKeyName, c.SharedAccessKeyName},
		{keySharedAccessKey, c.SharedAccessKey},
		{keySharedAccessSignature, c.SharedAccessSignature},
		{keyEntityPath, c.EntityPath},
	} {
		if kv[1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(kv[1])
	}
	return b.String()
}

// Redacted is like [ConnectionString.String] but replaces SharedAccessKey and
// the signature inside SharedAccessSignature (or all of it, if it is not a
// valid token) with "REDACTED", so that the result is safe to log.
func (c ConnectionString) Redacted() string {
	if c.SharedAccessKey != "" {
		c.SharedAccessKey = "REDACTED"
	}
	if c.SharedAccessSignature != "" {
		if t, err := Parse(c.SharedAccessSignature); err == nil {
			c.SharedAccessSignature = t.Redacted()
		} else {
			c.SharedAccessSignature = "REDACTED"
		}
	}
	return c.String()
}

// Namespace returns the host of c.Endpoint, lower-cased, without scheme,
// port, brackets or trailing "/" — "ns.servicebus.windows.net" for
// "sb://NS.servicebus.windows.net:5671/". It is a suitable namespace argument
// for [Token.Scope]. It returns "" if Endpoint is not valid.
func (c ConnectionString) Namespace() string {
	host, ok := parseEndpoint(c.Endpoint)
	if !ok {
		return ""
	}
	return strings.ToLower(host)
}

// parseEndpoint returns the host of a scheme://host[:port][/] endpoint URL.
func parseEndpoint(e string) (string, bool) {
	scheme, rest, ok := strings.Cut(e, "://")
	if !ok || !knownScheme(scheme) {
		return "", false
	}
	return parseHostPort(strings.TrimSuffix(rest, "/"), false)
}

// trimSpace removes spaces and tabs at both ends of s.
func trimSpace(s string) string {
	return strings.Trim(s, " \t")
}
