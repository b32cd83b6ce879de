package sysinfo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// ErrSkip marks blank and comment lines.
var ErrSkip = errors.New("not an assignment")

// ParseOSReleaseLine parses KEY=value, KEY="value" or KEY='value' as
// os-release(5) writes them (shell-like quoting, backslash escapes of
// \" \\ \$ \` inside double quotes).
func ParseOSReleaseLine(line string) (key, value string, err error) {
	t := strings.TrimSpace(line)
	if t == "" || strings.HasPrefix(t, "#") {
		return "", "", ErrSkip
	}
	key, raw, ok := strings.Cut(t, "=")
	if !ok {
		return "", "", fmt.Errorf("%s: no '='", hostfs.Quote(t))
	}
	if key == "" || strings.IndexFunc(key, func(r rune) bool {
		return !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) >= 0 {
		return "", "", fmt.Errorf("key %s: not a variable name", hostfs.Quote(key))
	}
	value, err = unquote(raw)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", key, err)
	}
	return key, value, nil
}

func unquote(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	switch q := raw[0]; q {
	case '\'':
		if len(raw) < 2 || raw[len(raw)-1] != '\'' {
			return "", errors.New("unterminated single quote")
		}
		return clean(raw[1 : len(raw)-1]), nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == '\\' && i+1 < len(raw) && strings.IndexByte("\"\\$`", raw[i+1]) >= 0:
				i++
				b.WriteByte(raw[i])
			case c == '"':
				if i != len(raw)-1 {
					return "", errors.New("text after closing quote")
				}
				return clean(b.String()), nil
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double quote")
	}
	return clean(raw), nil
}

// ParseOSRelease returns the assignments of an os-release file; bad lines
// are returned as reasons keyed by line number.
func ParseOSRelease(data []byte) (map[string]string, map[int]string) {
	vars := make(map[string]string)
	var bad map[int]string
	for n, line := range hostfs.Lines(data) {
		k, v, err := ParseOSReleaseLine(line)
		if errors.Is(err, ErrSkip) {
			continue
		}
		if err != nil {
			if bad == nil {
				bad = make(map[int]string)
			}
			if len(bad) < maxProblems {
				bad[n] = err.Error()
			}
			continue
		}
		vars[k] = v
	}
	return vars, bad
}

// ParseMeminfoLine parses "MemTotal:       16318480 kB" into a name and a
// number of bytes (lines without a unit are counts, returned as is).
func ParseMeminfoLine(line string) (name string, value uint64, err error) {
	name, rest, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return "", 0, fmt.Errorf("%s: no 'Name:'", hostfs.Quote(line))
	}
	f := strings.Fields(rest)
	if len(f) == 0 || len(f) > 2 {
		return "", 0, fmt.Errorf("%s: want a number and an optional unit", hostfs.Quote(line))
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %s is not a number", name, hostfs.Quote(f[0]))
	}
	if len(f) == 2 {
		if f[1] != "kB" {
			return "", 0, fmt.Errorf("%s: unit %s, want kB", name, hostfs.Quote(f[1]))
		}
		if n > math.MaxUint64/1024 {
			return "", 0, fmt.Errorf("%s: %d kB overflows", name, n)
		}
		n *= 1024
	}
	return name, n, nil
}

// maxBootTime is the last second JSON and RFC 3339 can represent.
const maxBootTime = 253402300799 // 9999-12-31T23:59:59Z

// ParseBootTime finds "btime SECONDS" in proc/stat.
func ParseBootTime(data []byte) (time.Time, error) {
	for _, line := range hostfs.Lines(data) {
		rest, ok := strings.CutPrefix(line, "btime ")
		if !ok {
			continue
		}
		s := strings.TrimSpace(rest)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > maxBootTime {
			return time.Time{}, fmt.Errorf("btime %s: not a plausible Unix time", hostfs.Quote(s))
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, errors.New("no btime line")
}

func clean(s string) string {
	if len(s) > 1024 {
		s = s[:1024]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

const maxProblems = 20
