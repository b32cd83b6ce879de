package device

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
)

// Limits on what a device may carry.
const (
	MaxTags         = 32
	MaxTagKey       = 64  // bytes
	MaxTagValue     = 256 // bytes
	MaxNetworks     = 64
	MaxStatusReason = 512 // bytes
	MinKeyBytes     = 16  // a supplied key decodes to 16..64 bytes
	MaxKeyBytes     = 64
	thumbprintLen   = 64 // hex digits of a SHA-256

	MinTokenTTL        = 10 * time.Second
	DefaultTokenTTL    = 5 * time.Minute
	DefaultMaxTokenTTL = time.Hour
)

// tagKeyExtra are the characters a tag key may hold besides ASCII letters
// and digits.
const tagKeyExtra = "-_.:/"

// draft is a device that passed validation, before the store's view of it
// (existing keys, status) is merged in. Keys are plain text; "" = not given.
type draft struct {
	id, hub            string
	status, reason     string // status "" = keep (or enabled for a new device)
	tags               map[string]string
	primary, secondary string
	thumbprint         string
	policy             Policy
}

// check validates a device for id (d.ID, when set, must name the same
// device) and returns it normalized. Errors are 400 invalid_name for the ID
// and hub names, invalid_device for everything else.
func (s *Service) check(id string, d Device) (draft, error) {
	cid, err := hub.CanonicalPublisher(id)
	if err != nil {
		return draft{}, err
	}
	if d.ID != "" && !strings.EqualFold(d.ID, id) {
		return draft{}, invalid(cid, "the body names device %.64q", d.ID)
	}
	if d.Hub == "" {
		return draft{}, invalid(cid, "hub is required")
	}
	h, err := hub.CanonicalHub(d.Hub)
	if err != nil {
		return draft{}, err
	}
	dr := draft{id: cid, hub: h, status: d.Status, reason: d.StatusReason, tags: d.Tags}
	if dr.status != "" && !validStatus(dr.status) {
		return draft{}, invalid(cid, "status %.64q: want %s", dr.status, statusList)
	}
	if len(dr.reason) > MaxStatusReason || !printable(dr.reason) {
		return draft{}, invalid(cid, "statusReason: want at most %d bytes of printable text", MaxStatusReason)
	}
	if err := checkTags(d.Tags); err != nil {
		return draft{}, invalid(cid, "%v", err)
	}
	if dr.primary, err = checkKey("primaryKey", d.PrimaryKey); err != nil {
		return draft{}, invalid(cid, "%v", err)
	}
	if dr.secondary, err = checkKey("secondaryKey", d.SecondaryKey); err != nil {
		return draft{}, invalid(cid, "%v", err)
	}
	if dr.thumbprint, err = CanonicalThumbprint(d.CertThumbprint); err != nil {
		return draft{}, invalid(cid, "%v", err)
	}
	if dr.policy, err = s.checkPolicy(d.Policy); err != nil {
		return draft{}, invalid(cid, "policy: %v", err)
	}
	return dr, nil
}

var statuses = []string{store.DeviceEnabled, store.DeviceDisabled, store.DeviceQuarantined, store.DeviceNeedsMaintenance}

var statusList = strings.Join(statuses, ", ")

func validStatus(s string) bool { return slices.Contains(statuses, s) }

// blocks reports whether a device of this status must not send: its
// publisher is revoked.
func blocks(status string) bool {
	return status == store.DeviceQuarantined || status == store.DeviceDisabled
}

func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("%d tags: at most %d", len(tags), MaxTags)
	}
	for k, v := range tags {
		if err := checkTagKey(k); err != nil {
			return err
		}
		if len(v) > MaxTagValue || !printable(v) || strings.ContainsRune(v, ';') {
			return fmt.Errorf("tag %.64q: the value must be at most %d bytes of printable text without ';'", k, MaxTagValue)
		}
	}
	return nil
}

// checkTagKey checks a tag key: 1–64 of ASCII letters, digits and - _ . : /.
func checkTagKey(k string) error {
	ok := k != "" && len(k) <= MaxTagKey
	for i := 0; ok && i < len(k); i++ {
		c := k[i]
		ok = c < utf8.RuneSelf && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || strings.IndexByte(tagKeyExtra, c) >= 0)
	}
	if !ok {
		return fmt.Errorf("tag key %.64q: want 1-%d of letters, digits, %s", k, MaxTagKey, tagKeyExtra)
	}
	return nil
}

// printable reports whether s is UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

var keyEncoding = base64.StdEncoding.Strict()

// checkKey checks a supplied key: the standard base64 of 16 to 64 bytes.
func checkKey(field, k string) (string, error) {
	if k == "" {
		return "", nil
	}
	b, err := keyEncoding.DecodeString(k)
	if err != nil || len(b) < MinKeyBytes || len(b) > MaxKeyBytes {
		return "", fmt.Errorf("%s: want the standard base64 of %d to %d bytes", field, MinKeyBytes, MaxKeyBytes)
	}
	return k, nil
}

// CanonicalThumbprint checks a certificate thumbprint (64 hex digits, the
// SHA-256 of the DER certificate) and lower-cases it. "" stays "".
func CanonicalThumbprint(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	ok := len(t) == thumbprintLen
	for i := 0; ok && i < len(t); i++ {
		c := t[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	if !ok {
		return "", fmt.Errorf("certThumbprint: want %d hex digits (the SHA-256 of the DER certificate)", thumbprintLen)
	}
	return strings.ToLower(t), nil
}

// checkPolicy validates a policy and returns it normalized: networks as
// canonical, de-duplicated prefixes and the default token lifetime filled in.
func (s *Service) checkPolicy(p Policy) (Policy, error) {
	if len(p.AllowedNetworks) > MaxNetworks {
		return Policy{}, fmt.Errorf("allowedNetworks: %d networks, at most %d", len(p.AllowedNetworks), MaxNetworks)
	}
	nets := make([]string, 0, len(p.AllowedNetworks))
	for _, n := range p.AllowedNetworks {
		pfx, err := parseNetwork(n)
		if err != nil {
			return Policy{}, fmt.Errorf("allowedNetworks: %.64q: want a CIDR prefix such as 10.0.0.0/8 or an address", n)
		}
		if c := pfx.String(); !slices.Contains(nets, c) {
			nets = append(nets, c)
		}
	}
	p.AllowedNetworks = nets
	p.normalize()
	if p.Geofence != nil {
		if err := p.Geofence.Validate(); err != nil {
			return Policy{}, fmt.Errorf("geofence: %w", err)
		}
	}
	if p.MaxSilence < 0 {
		return Policy{}, fmt.Errorf("maxSilence must not be negative")
	}
	if err := p.Maintenance.Validate(); err != nil {
		return Policy{}, fmt.Errorf("maintenance: %w", err)
	}
	if p.TokenTTL == 0 {
		p.TokenTTL = Duration(min(DefaultTokenTTL, s.maxTTL))
	}
	if ttl := time.Duration(p.TokenTTL); ttl < MinTokenTTL || ttl > s.maxTTL {
		return Policy{}, fmt.Errorf("tokenTTL %s: want %s to %s", p.TokenTTL, Duration(MinTokenTTL), Duration(s.maxTTL))
	}
	return p, nil
}

// parseNetwork parses a CIDR prefix, or an address as the prefix of that one
// address, and returns it masked (10.1.2.3/8 is 10.0.0.0/8).
func parseNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err == nil && a.Zone() != "" {
		err = fmt.Errorf("%s: an address with a zone", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), err
}

func invalid(id, format string, args ...any) *apierr.Error {
	return apierr.BadRequest("invalid_device", "device %q: %s", id, fmt.Sprintf(format, args...))
}
