package baseline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// SSHDConfigFile is where sshd reads its configuration.
const SSHDConfigFile = "etc/ssh/sshd_config"

// maxIncludeDepth is sshd's own limit on nested Include.
const maxIncludeDepth = 16

// Setting is the value sshd uses for a keyword and where it was set.
type Setting struct {
	Value string `json:"value"`
	File  string `json:"file"`
	Line  int    `json:"line"`
}

func (s Setting) where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// SSHDConfig holds the global values of an sshd configuration: for each
// keyword (lower case) the first value outside Match blocks, as sshd keeps
// it. Files lists the files read, in order.
type SSHDConfig struct {
	Values   map[string]Setting
	Files    []string
	Problems []hostfs.Problem
}

// Get returns the global setting of a keyword (any case).
func (c SSHDConfig) Get(keyword string) (Setting, bool) {
	s, ok := c.Values[strings.ToLower(keyword)]
	return s, ok
}

// ReadSSHDConfig reads file under root and the files it Includes. An
// unreadable file (main or included) is an error: a value hidden in it
// could change every answer. Lines sshd would reject are Problems.
func ReadSSHDConfig(root hostfs.Root, file string) (SSHDConfig, error) {
	c := SSHDConfig{Values: make(map[string]Setting)}
	if err := c.read(root, hostfs.Clean(file), 0, nil); err != nil {
		return c, err
	}
	return c, nil
}

func (c *SSHDConfig) read(root hostfs.Root, file string, depth int, stack []string) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: Include nested deeper than %d", file, maxIncludeDepth)
	}
	for _, f := range stack {
		if f == file {
			return fmt.Errorf("%s: Include loop", file)
		}
	}
	data, err := root.ReadFile(file)
	if err != nil {
		return err
	}
	c.Files = append(c.Files, file)
	inMatch := false // a Match block lasts to the next Match or the end of this file
	for n, line := range hostfs.Lines(data) {
		kw, args, err := ParseSSHDLine(line)
		if errors.Is(err, errBlank) {
			continue
		}
		if err != nil {
			if len(c.Problems) < maxProblems {
				c.Problems = append(c.Problems, hostfs.Problem{File: file, Line: n, Reason: err.Error()})
			}
			continue
		}
		switch kw {
		case "match":
			// "Match all" applies to every connection, so what follows is
			// global again; any other criteria make a conditional block.
			inMatch = !(len(args) == 1 && strings.EqualFold(args[0], "all"))
			continue
		case "include":
			if inMatch {
				continue // a conditional include sets no global value
			}
			for _, pattern := range args {
				if err := c.include(root, pattern, depth, append(stack, file)); err != nil {
					return err
				}
			}
			continue
		}
		if inMatch {
			continue
		}
		if _, set := c.Values[kw]; !set {
			c.Values[kw] = Setting{Value: strings.Join(args, " "), File: file, Line: n}
		}
	}
	return nil
}

// include reads the files matching one Include pattern in lexical order;
// relative patterns are relative to /etc/ssh, as for sshd.
func (c *SSHDConfig) include(root hostfs.Root, pattern string, depth int, stack []string) error {
	if !path.IsAbs(pattern) {
		pattern = "/etc/ssh/" + pattern
	}
	p := hostfs.Clean(pattern)
	if p == "" {
		return fmt.Errorf("include %s: pattern leaves the root", hostfs.Quote(pattern))
	}
	matches, err := fs.Glob(root.FS, p)
	if err != nil {
		return fmt.Errorf("include %s: %w", hostfs.Quote(pattern), err)
	}
	for _, m := range matches { // fs.Glob sorts, like glob(3)
		if fi, err := root.Stat(m); err == nil && fi.IsDir() {
			continue
		}
		if err := c.read(root, m, depth+1, stack); err != nil {
			return err
		}
	}
	return nil
}

var errBlank = errors.New("blank or comment")

// ParseSSHDLine splits an sshd_config line into a lower-case keyword and
// its arguments: "Keyword arg …" or "Keyword=arg", arguments in double
// quotes may hold blanks, and an argument starting with '#' starts a
// comment.
func ParseSSHDLine(line string) (keyword string, args []string, err error) {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' {
		return "", nil, errBlank
	}
	end := strings.IndexAny(t, " \t=")
	if end < 0 {
		end = len(t)
	}
	keyword = t[:end]
	rest := strings.TrimLeft(t[end:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	if err := checkKeyword(keyword); err != nil {
		return "", nil, err
	}
	args, err = splitQuoted(rest)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", keyword, err)
	}
	if len(args) == 0 {
		return "", nil, fmt.Errorf("%s: missing argument", hostfs.Quote(keyword))
	}
	return strings.ToLower(keyword), args, nil
}

func checkKeyword(k string) error {
	if k == "" || len(k) > 64 {
		return fmt.Errorf("keyword %s: empty or too long", hostfs.Quote(k))
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("keyword %s: not alphanumeric", hostfs.Quote(k))
		}
	}
	return nil
}

func splitQuoted(s string) ([]string, error) {
	var args []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] == '#' {
			return args, nil
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			args = append(args, clean(s[1:1+end]))
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		args = append(args, clean(s[:end]))
		s = s[end:]
	}
}

func clean(s string) string {
	if len(s) > 1024 {
		s = s[:1024]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

const maxProblems = 20
