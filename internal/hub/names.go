package hub

import (
	"net/http"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
)

// Name rules. Hub and publisher names are case-insensitive and canonicalized
// to lower case everywhere (paths, tokens, revocations, stored events), so
// "Dev1" and "dev1" are the same publisher and a revocation cannot be
// side-stepped by changing case.
const (
	maxHubName       = 64
	maxPublisherName = 128
	maxRuleName      = 256
	maxGroupName     = 64
)

// reservedHubNames would collide with the server's own top-level paths.
var reservedHubNames = map[string]bool{"api": true, "healthz": true, "readyz": true, "metrics": true, "debug": true}

func isAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// CanonicalHub validates and lower-cases a hub name: 1–64 of a-z 0-9 - _,
// starting and ending with a letter or digit.
func CanonicalHub(name string) (string, error) {
	n := strings.ToLower(name)
	if !validName(n, maxHubName, "-_") || reservedHubNames[n] {
		return "", apierr.BadRequest("invalid_name",
			"hub name %q: want 1-%d of a-z 0-9 - _, starting and ending with a letter or digit, not a reserved word", trunc(name), maxHubName)
	}
	return n, nil
}

// CanonicalPublisher validates and lower-cases a publisher name: 1–128 of
// a-z 0-9 - _ . : @, starting and ending with a letter or digit.
func CanonicalPublisher(name string) (string, error) {
	n := strings.ToLower(name)
	if !validName(n, maxPublisherName, "-_.:@") {
		return "", apierr.BadRequest("invalid_name",
			"publisher name %q: want 1-%d of a-z 0-9 - _ . : @, starting and ending with a letter or digit", trunc(name), maxPublisherName)
	}
	return n, nil
}

// ValidRuleName checks an authorization rule name: 1–256 of letters, digits,
// - _ . starting and ending with a letter or digit. Rule names are
// case-sensitive, as the skn field of a token.
func ValidRuleName(name string) error {
	if !validName(strings.ToLower(name), maxRuleName, "-_.") {
		return apierr.BadRequest("invalid_name",
			"rule name %q: want 1-%d of letters, digits, - _ ., starting and ending with a letter or digit", trunc(name), maxRuleName)
	}
	return nil
}

// CanonicalGroup validates and lower-cases a consumer group name.
func CanonicalGroup(name string) (string, error) {
	n := strings.ToLower(name)
	if !validName(n, maxGroupName, "-_.") {
		return "", apierr.New(http.StatusBadRequest, "invalid_name",
			"consumer group %q: want 1-%d of a-z 0-9 - _ ., starting and ending with a letter or digit", trunc(name), maxGroupName)
	}
	return n, nil
}

func validName(n string, max int, extra string) bool {
	if len(n) == 0 || len(n) > max || !isAlnum(n[0]) || !isAlnum(n[len(n)-1]) {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isAlnum(n[i]) && strings.IndexByte(extra, n[i]) < 0 {
			return false
		}
	}
	return true
}

// trunc keeps hostile names from bloating error messages.
func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
