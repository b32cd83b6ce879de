package audit

import (
	"strconv"
	"strings"
)

// argv is the argument vector rebuilt from the EXECVE records of one event.
//
// The kernel writes each argument as a quoted string when it is plain
// printable ASCII without spaces or quotes, and as upper-case hex otherwise.
// A long argument is cut into chunks (a1_len=N a1[0]=… a1[1]=…), and a long
// argument list is spread over several EXECVE records; auparse handles
// neither, so this file decodes EXECVE itself.
type argv struct {
	argc      int
	args      []string
	size      int
	truncated bool
}

// addRecord adds the fields of one EXECVE record (text after "audit(…): ").
func (a *argv) addRecord(body string, maxArgs, maxBytes int) {
	for _, f := range scanFields(body) {
		if f.key == "argc" {
			if n, err := strconv.Atoi(f.value); err == nil && n >= 0 {
				a.argc = n
			}
			continue
		}
		idx, chunked, ok := argIndex(f.key)
		if !ok {
			continue
		}
		if idx >= maxArgs {
			a.truncated = true
			continue
		}
		v := decodeArg(f.value, f.quoted)
		if a.size+len(v) > maxBytes {
			v = v[:max(0, maxBytes-a.size)]
			a.truncated = true
		}
		a.size += len(v)
		for len(a.args) <= idx {
			a.args = append(a.args, "")
		}
		if chunked {
			a.args[idx] += v
		} else {
			a.args[idx] = v
		}
	}
}

// finish drops arguments past argc and notes missing ones.
func (a *argv) finish() {
	if a.argc < len(a.args) {
		a.args = a.args[:a.argc]
	} else if a.argc > len(a.args) {
		a.truncated = true
	}
}

// argIndex reads "a7" (chunked=false) or "a7[3]" (chunked=true). "a7_len"
// and other keys are not arguments.
func argIndex(key string) (idx int, chunked, ok bool) {
	if len(key) < 2 || key[0] != 'a' {
		return 0, false, false
	}
	num := key[1:]
	if i := strings.IndexByte(num, '['); i >= 0 {
		if !strings.HasSuffix(num, "]") {
			return 0, false, false
		}
		num, chunked = num[:i], true
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || num[0] == '+' || num[0] == '-' {
		return 0, false, false
	}
	return n, chunked, true
}

// decodeArg returns a quoted argument as is and decodes an unquoted hex one;
// other unquoted text (such as "(null)") is returned as is.
func decodeArg(v string, quoted bool) string {
	if quoted {
		return v
	}
	if b, ok := decodeHex(v); ok {
		return string(b)
	}
	return v
}

// decodeHex decodes upper- or lower-case hex of even length.
func decodeHex(s string) ([]byte, bool) {
	if len(s) == 0 || len(s)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out[i] = hi<<4 | lo
	}
	return out, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// commandLine joins arguments with spaces, single-quoting those that are
// empty or contain spaces, quotes, backslashes or control characters, so the
// line can be read back unambiguously.
func commandLine(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsFunc(a, needsQuote) {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

func needsQuote(r rune) bool {
	return r <= ' ' || r == '\'' || r == '"' || r == '\\' || r == 0x7f
}
