package users

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// DefaultPrivilegedGroups are groups whose members can become root or read
// what only root should: sudo/wheel/admin run commands as root, adm reads
// system logs, docker/lxd start root containers, disk and shadow read raw
// disks and password hashes.
func DefaultPrivilegedGroups() []string {
	return []string{"root", "sudo", "wheel", "adm", "admin", "docker", "lxd", "disk", "shadow"}
}

// User is an account. Its key across snapshots is Name.
type User struct {
	Name         string   `json:"name"`
	UID          uint32   `json:"uid"`
	GID          uint32   `json:"gid"`
	PrimaryGroup string   `json:"primaryGroup,omitempty"`
	Groups       []string `json:"groups,omitempty"` // supplementary, sorted
	GECOS        string   `json:"gecos,omitempty"`
	Home         string   `json:"home"`
	Shell        string   `json:"shell"`
	LoginCapable bool     `json:"loginCapable"`
	Privileged   bool     `json:"privileged"`
	// PrivilegedBy says why: "uid 0", "group sudo", …, sorted.
	PrivilegedBy []string `json:"privilegedBy,omitempty"`
}

// Group is a group. Its key across snapshots is Name.
type Group struct {
	Name       string   `json:"name"`
	GID        uint32   `json:"gid"`
	Members    []string `json:"members,omitempty"` // as listed in /etc/group, sorted
	Privileged bool     `json:"privileged"`
}

// Snapshot is the accounts of a device sorted by uid then name, groups by
// gid then name.
type Snapshot struct {
	Users    []User           `json:"users"`
	Groups   []Group          `json:"groups"`
	Problems []hostfs.Problem `json:"problems,omitempty"`
}

// Options tune Collect.
type Options struct {
	PrivilegedGroups []string // nil: DefaultPrivilegedGroups()
}

const (
	passwdFile = "etc/passwd"
	groupFile  = "etc/group"
)

// Collect reads etc/passwd and etc/group under root. An unreadable file is
// a Problem, and its part of the snapshot is empty.
func Collect(root hostfs.Root, opts Options) Snapshot {
	var snap Snapshot
	var entries []Entry
	var groups []GroupEntry
	if data, err := root.ReadFile(passwdFile); err != nil {
		snap.Problems = append(snap.Problems, hostfs.Problem{File: passwdFile, Reason: err.Error()})
	} else {
		var probs []hostfs.Problem
		entries, probs = ParsePasswd(passwdFile, data)
		snap.Problems = append(snap.Problems, probs...)
	}
	if data, err := root.ReadFile(groupFile); err != nil {
		snap.Problems = append(snap.Problems, hostfs.Problem{File: groupFile, Reason: err.Error()})
	} else {
		var probs []hostfs.Problem
		groups, probs = ParseGroup(groupFile, data)
		snap.Problems = append(snap.Problems, probs...)
	}
	privNames := opts.PrivilegedGroups
	if privNames == nil {
		privNames = DefaultPrivilegedGroups()
	}
	snap.Users, snap.Groups = Build(entries, groups, privNames)
	return snap
}

// Build joins passwd and group entries.
func Build(entries []Entry, groups []GroupEntry, privilegedGroups []string) ([]User, []Group) {
	priv := make(map[string]bool, len(privilegedGroups))
	for _, g := range privilegedGroups {
		priv[g] = true
	}
	byGID := make(map[uint32]string, len(groups))
	memberOf := make(map[string][]string)
	outGroups := make([]Group, 0, len(groups))
	for _, g := range groups {
		if _, dup := byGID[g.GID]; !dup {
			byGID[g.GID] = g.Name
		}
		members := slices.Clone(g.Members)
		slices.Sort(members)
		members = slices.Compact(members)
		for _, m := range members {
			memberOf[m] = append(memberOf[m], g.Name)
		}
		outGroups = append(outGroups, Group{Name: g.Name, GID: g.GID, Members: members,
			Privileged: priv[g.Name] || g.GID == 0})
	}
	slices.SortFunc(outGroups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(a.GID, b.GID), cmp.Compare(a.Name, b.Name))
	})
	privGID := make(map[uint32]bool)
	for _, g := range outGroups {
		if g.Privileged {
			privGID[g.GID] = true
		}
	}
	users := make([]User, 0, len(entries))
	for _, e := range entries {
		u := User{Name: e.Name, UID: e.UID, GID: e.GID, PrimaryGroup: byGID[e.GID],
			GECOS: e.GECOS, Home: e.Home, Shell: e.Shell, LoginCapable: LoginCapable(e.Shell)}
		sup := slices.Clone(memberOf[e.Name])
		slices.Sort(sup)
		u.Groups = slices.Compact(sup)
		if e.UID == 0 {
			u.PrivilegedBy = append(u.PrivilegedBy, "uid 0")
		}
		if privGID[e.GID] {
			u.PrivilegedBy = append(u.PrivilegedBy, fmt.Sprintf("primary group %s", cmp.Or(u.PrimaryGroup, fmt.Sprint(e.GID))))
		}
		for _, g := range u.Groups {
			if priv[g] {
				u.PrivilegedBy = append(u.PrivilegedBy, "group "+g)
			}
		}
		slices.Sort(u.PrivilegedBy)
		u.PrivilegedBy = slices.Compact(u.PrivilegedBy)
		u.Privileged = len(u.PrivilegedBy) > 0
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b User) int {
		return cmp.Or(cmp.Compare(a.UID, b.UID), cmp.Compare(a.Name, b.Name))
	})
	return users, outGroups
}

// maxProblems bounds the report for a file full of garbage.
const maxProblems = 20

// ParsePasswd parses a passwd file. The first entry of a name wins, as
// for getpwnam; later duplicates are Problems.
func ParsePasswd(file string, data []byte) ([]Entry, []hostfs.Problem) {
	var out []Entry
	var probs []hostfs.Problem
	seen := make(map[string]bool)
	for n, line := range hostfs.Lines(data) {
		e, err := ParsePasswdLine(line)
		if err == nil && seen[e.Name] {
			err = fmt.Errorf("duplicate user %s, first entry kept", hostfs.Quote(e.Name))
		}
		if err != nil {
			if !errors.Is(err, ErrSkip) && len(probs) < maxProblems {
				probs = append(probs, hostfs.Problem{File: file, Line: n, Reason: err.Error()})
			}
			continue
		}
		seen[e.Name] = true
		out = append(out, e)
	}
	return out, probs
}

// ParseGroup parses a group file; the first entry of a name wins.
func ParseGroup(file string, data []byte) ([]GroupEntry, []hostfs.Problem) {
	var out []GroupEntry
	var probs []hostfs.Problem
	seen := make(map[string]bool)
	for n, line := range hostfs.Lines(data) {
		g, err := ParseGroupLine(line)
		if err == nil && seen[g.Name] {
			err = fmt.Errorf("duplicate group %s, first entry kept", hostfs.Quote(g.Name))
		}
		if err != nil {
			if !errors.Is(err, ErrSkip) && len(probs) < maxProblems {
				probs = append(probs, hostfs.Problem{File: file, Line: n, Reason: err.Error()})
			}
			continue
		}
		seen[g.Name] = true
		out = append(out, g)
	}
	return out, probs
}
