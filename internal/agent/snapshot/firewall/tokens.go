package firewall

import (
	"errors"
	"strings"
)

// splitArgs splits an iptables-save rule into arguments: blanks separate,
// double quotes group, and a backslash escapes the next byte inside
// quotes (iptables-save quotes comments and strings that way).
func splitArgs(s string) ([]string, error) {
	var args []string
	var b strings.Builder
	inArg, inQuote := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			inQuote = !inQuote
			inArg = true
		case !inQuote && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, b.String())
				b.Reset()
				inArg = false
			}
		default:
			b.WriteByte(c)
			inArg = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if inArg {
		args = append(args, b.String())
	}
	return args, nil
}
