package sqlstore

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// clean returns s as valid UTF-8 without NUL bytes, replacing each invalid
// byte sequence and each NUL with U+FFFD: PostgreSQL's text refuses both,
// and both backends must store the same value.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// cut returns s, cleaned, cut to at most n bytes at a character boundary.
func cut(s string, n int) string {
	s = clean(s)
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// The range of times the store accepts: four-digit years (those RFC 3339
// can write), which keep the text form SQLite stores ordered like the times.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// stamp returns t as the store records it: UTC, truncated to microseconds.
func stamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// inRange reports whether t lies within the years the store accepts.
func inRange(t time.Time) bool {
	return !t.Before(minTime) && !t.After(maxTime)
}

// checkTime returns t stamped, or an error naming what when it is out of range.
func checkTime(what string, t time.Time) (time.Time, error) {
	if !inRange(t) {
		return time.Time{}, fmt.Errorf("%s %v: outside years 0..9999", what, t)
	}
	return stamp(t), nil
}

// newID returns a new 32-hex-digit id: the time in milliseconds since the
// Unix epoch (12 digits), then 80 random bits, so ids sort by creation time
// (to the millisecond) and do not collide.
func newID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// encodeFields returns fields as a JSON object with sorted keys, cleaned
// like every stored string. It cannot fail.
func encodeFields(fields map[string]string) string {
	if len(fields) == 0 {
		return "{}"
	}
	return string(appendFields(make([]byte, 0, 64*len(fields)), fields))
}

// appendFields appends fields as encodeFields writes them.
func appendFields(b []byte, fields map[string]string) []byte {
	var small [16]string
	keys := small[:0]
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, fields[k])
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, with invalid UTF-8 and NUL
// as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	s = clean(s)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeFields parses a fields column; the result is never nil.
func decodeFields(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" || s == "{}" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("fields column: %w", err)
	}
	return m, nil
}

// scanTime converts a time an aggregate (MAX) returns: PostgreSQL gives a
// time.Time, SQLite the stored text, since the expression has no declared
// type.
func scanTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return parseSQLiteTime(t)
	case []byte:
		return parseSQLiteTime(string(t))
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("unexpected time value of type %T", v)
}

// sqliteTimeFormat is how the SQLite driver writes times (_time_format=sqlite).
const sqliteTimeFormat = "2006-01-02 15:04:05.999999999-07:00"

func parseSQLiteTime(s string) (time.Time, error) {
	t, err := time.Parse(sqliteTimeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// pageLimit returns limit when it lies in 1..max, else def.
func pageLimit(limit, max, def int) int {
	if limit <= 0 || limit > max {
		return def
	}
	return limit
}

// rows returns n parenthesized rows of width placeholders for a statement
// that binds nothing else: valueRows's $1, $2, … or, when the dialect asks
// for it, anonymous ?s.
func (s *Store) rows(n, width int) string {
	if !s.dialect.OrdinalRows {
		return valueRows(n, width, 1, "")
	}
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}
