package audit

import (
	"strconv"
	"strings"

	"github.com/elastic/go-libaudit/v2/auparse"
)

// SkipReason says why an input line or record produced nothing.
type SkipReason string

// Reasons for skipping input. Records of types this package has no use for
// are not skips: they are counted in Stats.Ignored.
const (
	SkipTooLong        SkipReason = "line too long"
	SkipNoType         SkipReason = "no type= field"
	SkipUnknownType    SkipReason = "unknown record type"
	SkipBadHeader      SkipReason = "bad msg=audit(TIME:SERIAL) header"
	SkipBadTime        SkipReason = "timestamp outside years 1970-9999"
	SkipTooManyRecords SkipReason = "too many records in one event"
	SkipUnparsable     SkipReason = "record fields unparsable"
	SkipIncomplete     SkipReason = "event incomplete (no SYSCALL record)"
	SkipNoAddress      SkipReason = "connection without IPv4/IPv6 SOCKADDR"
	SkipNoResult       SkipReason = "login record without res="
	SkipNoPID          SkipReason = "syscall record without pid="
)

// enrichSep separates the raw record from the fields auditd appends in its
// ENRICHED log format (UID="root" AUID="alice" …).
const enrichSep = '\x1d'

// record is one parsed audit record.
type record struct {
	msg   *auparse.AuditMessage
	node  string
	names map[string]string // ENRICHED fields, upper-case keys; nil when absent
}

// eventKey identifies an audit event: its timestamp and serial.
type eventKey struct {
	ms     int64
	serial uint32
}

func (r *record) key() eventKey {
	return eventKey{ms: r.msg.Timestamp.UnixMilli(), serial: r.msg.Sequence}
}

// recordClass tells how the decoder treats a record type.
type recordClass uint8

const (
	classIgnore     recordClass = iota // not needed: dropped before parsing
	classStandalone                    // a complete event on its own (PAM, sshd)
	classPart                          // part of a syscall event
	classEnd                           // EOE: end of a syscall event
)

func classify(t auparse.AuditMessageType) recordClass {
	switch t {
	case auparse.AUDIT_USER_AUTH, auparse.AUDIT_USER_ACCT, auparse.AUDIT_USER_LOGIN,
		auparse.AUDIT_USER_LOGOUT, auparse.AUDIT_USER_ERR, auparse.AUDIT_USER_START,
		auparse.AUDIT_USER_END:
		return classStandalone
	case auparse.AUDIT_SYSCALL, auparse.AUDIT_EXECVE, auparse.AUDIT_CWD,
		auparse.AUDIT_SOCKADDR, auparse.AUDIT_PROCTITLE:
		return classPart
	case auparse.AUDIT_EOE:
		return classEnd
	}
	return classIgnore
}

// splitLine takes an audit.log line apart: the optional node= prefix, the
// record type and the text from "audit(" on. ok is false with a reason when
// the line is not an audit record.
func splitLine(line string) (node, typ, body string, reason SkipReason) {
	if rest, found := strings.CutPrefix(line, "node="); found {
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			return "", "", "", SkipNoType
		}
		node, line = rest[:sp], strings.TrimLeft(rest[sp:], " ")
	}
	rest, found := strings.CutPrefix(line, "type=")
	if !found {
		return "", "", "", SkipNoType
	}
	sp := strings.IndexByte(rest, ' ')
	if sp <= 0 {
		return "", "", "", SkipNoType
	}
	typ, rest = rest[:sp], rest[sp+1:]
	i := strings.Index(rest, "msg=audit(")
	if i < 0 {
		return "", "", "", SkipBadHeader
	}
	return node, typ, rest[i+len("msg="):], ""
}

// parseRecord parses the text of a record from "audit(" on.
func parseRecord(t auparse.AuditMessageType, body, node string) (*record, SkipReason) {
	var names map[string]string
	if i := strings.IndexByte(body, enrichSep); i >= 0 {
		names = parseEnriched(body[i+1:])
		body = body[:i]
	}
	msg, err := auparse.Parse(t, body)
	if err != nil {
		return nil, SkipBadHeader
	}
	if y := msg.Timestamp.Year(); y < 1970 || y > 9999 {
		return nil, SkipBadTime
	}
	return &record{msg: msg, node: node, names: names}, ""
}

// parseEnriched reads KEY=value and KEY="value" pairs.
func parseEnriched(s string) map[string]string {
	out := make(map[string]string, 4)
	for _, kv := range scanFields(s) {
		out[kv.key] = kv.value
	}
	return out
}

// field is one key=value pair of a record.
type field struct {
	key    string
	value  string
	quoted bool
}

// scanFields splits "k1=v1 k2="v 2" …" into fields. Text that is not a
// key=value pair is passed over.
func scanFields(s string) []field {
	var out []field
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key := s[:eq]
		if sp := strings.LastIndexAny(key, " \t"); sp >= 0 {
			key = key[sp+1:]
		}
		s = s[eq+1:]
		f := field{key: key}
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				f.value, s = s[1:], ""
			} else {
				f.value, s = s[1:1+end], s[2+end:]
			}
			f.quoted = true
		} else {
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			f.value, s = s[:end], s[end:]
		}
		if key != "" {
			out = append(out, f)
		}
	}
	return out
}

// rawField finds key= in a record body without parsing it all, and returns
// its unquoted raw value.
func rawField(body, key string) (string, bool) {
	for off := 0; off < len(body); {
		i := strings.Index(body[off:], key)
		if i < 0 {
			return "", false
		}
		i += off
		j := i + len(key)
		if j < len(body) && body[j] == '=' && (i == 0 || body[i-1] == ' ') {
			v := body[j+1:]
			if end := strings.IndexByte(v, ' '); end >= 0 {
				v = v[:end]
			}
			return v, true
		}
		off = j
	}
	return "", false
}

// watchedSyscalls are the syscalls whose events this package maps.
var watchedSyscalls = map[string]bool{
	"execve": true, "execveat": true,
	"connect": true, "accept": true, "accept4": true,
	"exit_group": true,
}

// syscallOf names the syscall of a SYSCALL record body cheaply, from its
// arch= and syscall= fields ("" when they cannot be read).
func syscallOf(body string) string {
	archHex, ok := rawField(body, "arch")
	if !ok {
		return ""
	}
	num, ok := rawField(body, "syscall")
	if !ok {
		return ""
	}
	arch, err := strconv.ParseUint(archHex, 16, 32)
	if err != nil {
		return ""
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return ""
	}
	name, ok := auparse.AuditArchNames[auparse.AuditArch(arch)]
	if !ok {
		return ""
	}
	return auparse.AuditSyscalls[name][n]
}
