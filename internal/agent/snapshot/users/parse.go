package users

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// ErrSkip is returned (wrapped) for lines that are not entries: blank
// lines and comments. ErrNIS marks NIS compat lines ("+", "-name").
var (
	ErrSkip = errors.New("not an entry")
	ErrNIS  = errors.New("NIS compat entry, not resolved")
)

// Entry of /etc/passwd.
type Entry struct {
	Name     string
	Password string // "x" when in shadow
	UID, GID uint32
	GECOS    string
	Home     string
	Shell    string
}

// GroupEntry of /etc/group.
type GroupEntry struct {
	Name    string
	GID     uint32
	Members []string
}

// ParsePasswdLine parses "name:pw:uid:gid:gecos:home:shell".
func ParsePasswdLine(line string) (Entry, error) {
	if err := skippable(line); err != nil {
		return Entry{}, err
	}
	f := strings.Split(line, ":")
	if len(f) != 7 {
		return Entry{}, fmt.Errorf("%d fields, want 7", len(f))
	}
	if err := checkName(f[0]); err != nil {
		return Entry{}, err
	}
	uid, err := parseID("uid", f[2])
	if err != nil {
		return Entry{}, err
	}
	gid, err := parseID("gid", f[3])
	if err != nil {
		return Entry{}, err
	}
	return Entry{Name: f[0], Password: f[1], UID: uid, GID: gid,
		GECOS: text(f[4]), Home: text(f[5]), Shell: text(f[6])}, nil
}

// ParseGroupLine parses "name:pw:gid:member,member".
func ParseGroupLine(line string) (GroupEntry, error) {
	if err := skippable(line); err != nil {
		return GroupEntry{}, err
	}
	f := strings.Split(line, ":")
	if len(f) != 4 {
		return GroupEntry{}, fmt.Errorf("%d fields, want 4", len(f))
	}
	if err := checkName(f[0]); err != nil {
		return GroupEntry{}, err
	}
	gid, err := parseID("gid", f[2])
	if err != nil {
		return GroupEntry{}, err
	}
	g := GroupEntry{Name: f[0], GID: gid}
	for m := range strings.SplitSeq(f[3], ",") {
		if m = strings.TrimSpace(m); m != "" {
			if checkName(m) != nil {
				return GroupEntry{}, fmt.Errorf("member %s: invalid name", hostfs.Quote(m))
			}
			g.Members = append(g.Members, m)
		}
	}
	return g, nil
}

// LoginCapable reports whether a shell lets the account log in: anything
// but nologin, false and the single-purpose sync/halt/shutdown. An empty
// shell means /bin/sh.
func LoginCapable(shell string) bool {
	switch path.Base(strings.TrimSpace(shell)) {
	case "nologin", "false", "sync", "halt", "shutdown":
		return false
	}
	return true
}

func skippable(line string) error {
	t := strings.TrimSpace(line)
	switch {
	case t == "", strings.HasPrefix(t, "#"):
		return ErrSkip
	case strings.HasPrefix(t, "+"), strings.HasPrefix(t, "-"):
		return ErrNIS
	}
	return nil
}

// checkName rejects names no tool would create: empty, with spaces,
// control bytes or invalid UTF-8, or absurdly long.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 256 {
		return fmt.Errorf("name %s: longer than 256 bytes", hostfs.Quote(name))
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == '\uFFFD' {
			return fmt.Errorf("name %s: space, control or invalid byte", hostfs.Quote(name))
		}
	}
	return nil
}

func parseID(what, s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %s: not a 32-bit number", what, hostfs.Quote(s))
	}
	return uint32(n), nil
}

// text makes a free-form field safe to report.
func text(s string) string {
	if len(s) > 4096 {
		s = s[:4096]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
