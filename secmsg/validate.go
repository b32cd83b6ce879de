package secmsg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a message. Parse enforces them on what it reads, Validate on
// what it is given.
const (
	MaxMessageSize = 256 << 10 // bytes of one encoded message
	MaxEvents      = 1000      // events in one message
	MaxItems       = 10000     // payload items in one message, all events together
	MaxStringLen   = 4096      // bytes of any one string value
	MaxListLen     = 256       // entries of a list field (LocalUser.GroupNames)
	MaxTokenLen    = 64        // bytes of a token field (Login.AuthMethod)
	maxPID         = 1 << 22   // Linux's PID_MAX_LIMIT
	maxUID         = 1<<32 - 1 // uid_t and gid_t are 32-bit; 4294967295 is "unset"
)

// Validate reports the first thing that makes m invalid, as a
// *ValidationError, or nil. It checks required fields, enumerations, the
// formats of Ids (UUID), timestamps (RFC 3339), addresses and ports, the
// limits, and the consistency of each event: EventType and Category are
// those of its Name, IsEmpty says whether Payload is empty, every item is of
// the Name's type, Change is set exactly in Diff snapshots. It does not
// check the encoded size: Parse checks it on input, Marshal on output.
func (m *Message) Validate() error {
	if m == nil {
		return &ValidationError{Reason: ReasonMissingField, Detail: "no message"}
	}
	c := checker{ev: -1, item: -1}
	c.str("AgentVersion", m.AgentVersion, true)
	c.uuid("AgentId", m.AgentID)
	c.version("MessageSchemaVersion", m.MessageSchemaVersion)
	switch {
	case c.err != nil:
	case m.Events == nil:
		c.fail("Events", ReasonMissingField, "")
	case len(m.Events) == 0:
		c.fail("Events", ReasonBadValue, "a message has at least one event")
	case len(m.Events) > MaxEvents:
		c.fail("Events", ReasonTooLarge, "%d events, at most %d", len(m.Events), MaxEvents)
	}
	items := 0
	ids := make(map[string]int, len(m.Events))
	for i := range m.Events {
		if c.err != nil {
			break
		}
		e := &m.Events[i]
		c.ev = i
		if items += len(e.Payload); items > MaxItems {
			c.fail("Payload", ReasonTooLarge, "more than %d payload items in the message", MaxItems)
			break
		}
		c.event(e)
		id := strings.ToLower(e.ID)
		if j, dup := ids[id]; dup && c.err == nil {
			c.fail("Id", ReasonDuplicateID, "also the Id of Events[%d]", j)
		}
		ids[id] = i
	}
	if c.err != nil {
		return c.err
	}
	return nil
}

// checker accumulates the first validation failure; its methods do nothing
// once one is recorded. ev and item locate the value being checked (-1:
// not inside an event or item); mode is the current event's SnapshotMode.
type checker struct {
	ev, item int
	mode     string
	err      *ValidationError
}

func (c *checker) path(field string) string {
	var b strings.Builder
	if c.ev >= 0 {
		b.WriteString("Events[")
		b.WriteString(strconv.Itoa(c.ev))
		b.WriteString("]")
		if c.item >= 0 {
			b.WriteString(".Payload[")
			b.WriteString(strconv.Itoa(c.item))
			b.WriteString("]")
		}
	}
	if field != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(field)
	}
	return b.String()
}

// fail records a failure of field (relative to the current event or item)
// unless one is recorded already.
func (c *checker) fail(field, reason, format string, args ...any) {
	if c.err != nil {
		return
	}
	c.err = &ValidationError{Path: c.path(field), Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// str checks a string field and reports whether it is set and valid.
func (c *checker) str(field, s string, required bool) bool {
	switch {
	case c.err != nil:
		return false
	case s == "":
		if required {
			c.fail(field, ReasonMissingField, "")
		}
		return false
	case len(s) > MaxStringLen:
		c.fail(field, ReasonTooLarge, "%d bytes, at most %d", len(s), MaxStringLen)
		return false
	case !utf8.ValidString(s):
		c.fail(field, ReasonBadValue, "not valid UTF-8")
		return false
	}
	return true
}

func (c *checker) strs(field string, list []string) {
	if c.err != nil {
		return
	}
	if len(list) > MaxListLen {
		c.fail(field, ReasonTooLarge, "%d entries, at most %d", len(list), MaxListLen)
		return
	}
	for i, s := range list {
		if s == "" || len(s) > MaxStringLen || !utf8.ValidString(s) {
			c.str(field+"["+strconv.Itoa(i)+"]", s, true)
			return
		}
	}
}

func (c *checker) enum(field, s string, required bool, allowed ...string) bool {
	if !c.str(field, s, required) {
		return false
	}
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	c.fail(field, ReasonBadValue, "%s is not one of %s", quote(s), strings.Join(allowed, ", "))
	return false
}

// token checks an optional short lower-case word: letters, digits, '-',
// '_', '.', '@'.
func (c *checker) token(field, s string) {
	if !c.str(field, s, false) {
		return
	}
	if len(s) > MaxTokenLen {
		c.fail(field, ReasonTooLarge, "%d bytes, at most %d", len(s), MaxTokenLen)
		return
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.' || b == '@') {
			c.fail(field, ReasonBadValue, "%s is not a lower-case token", quote(s))
			return
		}
	}
}

func (c *checker) version(field, s string) {
	if c.str(field, s, true) && s != SchemaVersion {
		c.fail(field, ReasonUnsupportedVersion, "%s, this reader knows %s", quote(s), SchemaVersion)
	}
}

func (c *checker) uuid(field, s string) {
	if c.str(field, s, true) && !isUUID(s) {
		c.fail(field, ReasonBadValue, "%s is not a UUID", quote(s))
	}
}

func (c *checker) port(field string, p int, required bool) {
	switch {
	case c.err != nil:
	case p == 0 && required:
		c.fail(field, ReasonMissingField, "")
	case p < 0 || p > 65535:
		c.fail(field, ReasonBadValue, "port %d outside 0–65535", p)
	}
}

func (c *checker) pid(field string, p int, required bool) {
	switch {
	case c.err != nil:
	case p == 0 && required:
		c.fail(field, ReasonMissingField, "")
	case p < 0 || p > maxPID:
		c.fail(field, ReasonBadValue, "process id %d outside 1–%d", p, maxPID)
	}
}

func (c *checker) uid(field string, id int64) {
	if c.err == nil && (id < 0 || id > maxUID) {
		c.fail(field, ReasonBadValue, "id %d outside 0–%d", id, int64(maxUID))
	}
}

func (c *checker) count(field string, n int64) {
	if c.err == nil && n < 0 {
		c.fail(field, ReasonBadValue, "negative count %d", n)
	}
}

func (c *checker) ip(field, s string, required bool) {
	if !c.str(field, s, required) {
		return
	}
	if _, err := netip.ParseAddr(s); err != nil {
		c.fail(field, ReasonBadValue, "%s is not an IP address", quote(s))
	}
}

// hostOrIP checks an IP address or a DNS host name (letters, digits, '-'
// and '_' in dot-separated labels of 1–63 bytes, 253 bytes in all).
func (c *checker) hostOrIP(field, s string, required bool) {
	if !c.str(field, s, required) {
		return
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return
	}
	if !isHostName(s) {
		c.fail(field, ReasonBadValue, "%s is neither an IP address nor a host name", quote(s))
	}
}

func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
				return false
			}
		}
	}
	return true
}

// timestamp checks an RFC 3339 timestamp; with utc, it must be in UTC ("Z").
func (c *checker) timestamp(field, s string, required, utc bool) (time.Time, bool) {
	if !c.str(field, s, required) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		c.fail(field, ReasonBadValue, "%s is not an RFC 3339 time", quote(s))
		c.err.Err = err
		return time.Time{}, false
	}
	if utc && s[len(s)-1] != 'Z' {
		c.fail(field, ReasonBadValue, "%s is not in UTC (ending in Z)", quote(s))
		return time.Time{}, false
	}
	return t, true
}

func (c *checker) utc(field, s string, required bool) (time.Time, bool) {
	return c.timestamp(field, s, required, true)
}

func (c *checker) aggregate(a Aggregate) {
	if c.err != nil {
		return
	}
	if a.HitCount < 0 {
		c.fail("HitCount", ReasonBadValue, "negative HitCount %d", a.HitCount)
		return
	}
	first, okFirst := c.utc("FirstSeen", a.FirstSeen, a.LastSeen != "" || a.HitCount > 1)
	last, okLast := c.utc("LastSeen", a.LastSeen, a.FirstSeen != "" || a.HitCount > 1)
	if okFirst && okLast && last.Before(first) {
		c.fail("LastSeen", ReasonInconsistent, "before FirstSeen")
	}
}

func (c *checker) change(ch string) {
	if c.mode == SnapshotDiff {
		c.enum("Change", ch, true, ChangeAdded, ChangeRemoved, ChangeChanged)
	} else if ch != "" {
		c.fail("Change", ReasonInconsistent, "Change is only for items of a Diff snapshot")
	}
}

func (c *checker) event(e *Event) {
	c.item, c.mode = -1, ""
	var sp spec
	known := false
	if c.str("Name", e.Name, true) {
		if sp, known = specOf(e.Name); !known {
			c.fail("Name", ReasonUnknownEvent, "no event is named %s", quote(e.Name))
		}
	}
	if c.enum("EventType", e.EventType, true, TypeSecurity, TypeOperational, TypeDiagnostic) && known && e.EventType != sp.typ {
		c.fail("EventType", ReasonInconsistent, "%s events are of type %s", e.Name, sp.typ)
	}
	if c.enum("Category", e.Category, true, CategoryPeriodic, CategoryTriggered) && known && e.Category != sp.cat {
		c.fail("Category", ReasonInconsistent, "%s events are %s", e.Name, sp.cat)
	}
	c.version("PayloadSchemaVersion", e.PayloadSchemaVersion)
	c.uuid("Id", e.ID)
	local, okLocal := c.timestamp("TimestampLocal", e.TimestampLocal, true, false)
	utc, okUTC := c.utc("TimestampUTC", e.TimestampUTC, true)
	if okLocal && okUTC && !local.Equal(utc) {
		c.fail("TimestampUTC", ReasonInconsistent, "not the instant of TimestampLocal")
	}
	if c.enum("SnapshotMode", e.SnapshotMode, false, SnapshotFull, SnapshotDiff) {
		switch {
		case e.Category != CategoryPeriodic:
			c.fail("SnapshotMode", ReasonInconsistent, "only Periodic events are snapshots")
		case e.SnapshotMode == SnapshotDiff && len(e.Payload) == 0:
			c.fail("SnapshotMode", ReasonInconsistent, "a Diff snapshot holds at least one change (an empty one is not sent)")
		}
	}
	c.mode = e.SnapshotMode
	if e.IsEmpty != (len(e.Payload) == 0) {
		c.fail("IsEmpty", ReasonInconsistent, "IsEmpty is %t with %d payload items", e.IsEmpty, len(e.Payload))
	}
	for j, it := range e.Payload {
		if c.err != nil {
			return
		}
		c.item = j
		switch {
		case it == nil:
			c.fail("", ReasonMissingField, "nil item")
		case known && it.EventName() != e.Name:
			c.fail("", ReasonInconsistent, "a %s item in a %s event", it.EventName(), e.Name)
		default:
			it.check(c)
		}
	}
	c.item = -1
}
