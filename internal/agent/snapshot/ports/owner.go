package ports

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// maxProcText caps comm and exe as reported (comm is 15 bytes on Linux).
const maxProcText = 4096

// resolveOwners fills PID, Comm and Executable of ls by scanning
// proc/[pid]/fd for "socket:[inode]" links, lowest PID first, so a socket
// shared after fork is reported for its parent.
func resolveOwners(ctx context.Context, root hostfs.Root, ls []listener) []hostfs.Problem {
	byInode := make(map[uint64][]int, len(ls))
	for i, l := range ls {
		if l.Inode != 0 { // 0: socket in a closing state, no file
			byInode[l.Inode] = append(byInode[l.Inode], i)
		}
	}
	if len(byInode) == 0 {
		return nil
	}
	entries, err := root.ReadDir("proc")
	if err != nil {
		return []hostfs.Problem{problemf("proc", "owners not resolved: %v", err)}
	}
	denied := 0
	var probs []hostfs.Problem
	for _, pid := range pidNames(entries) {
		if len(byInode) == 0 {
			break
		}
		if ctx.Err() != nil {
			return append(probs, problemf("proc", "owners not resolved: %v", ctx.Err()))
		}
		fdDir := "proc/" + strconv.Itoa(pid) + "/fd"
		fds, err := root.ReadDir(fdDir)
		switch {
		case errors.Is(err, fs.ErrPermission):
			denied++
			continue
		case err != nil:
			continue // the process exited, or it is a kernel thread
		}
		var owned []int
		for _, fd := range fds {
			target, err := root.ReadLink(fdDir + "/" + fd.Name())
			if err != nil {
				if errors.Is(err, hostfs.ErrNoReadLink) {
					return append(probs, problemf(fdDir, "owners not resolved: %v", err))
				}
				continue
			}
			inode, ok := socketInode(target)
			if !ok {
				continue
			}
			if idx, ok := byInode[inode]; ok {
				owned = append(owned, idx...)
				delete(byInode, inode)
			}
		}
		if len(owned) > 0 {
			comm, exe := processNames(root, pid)
			for _, i := range owned {
				ls[i].PID, ls[i].Comm, ls[i].Executable = pid, comm, exe
			}
		}
	}
	if denied > 0 && len(byInode) > 0 {
		probs = append(probs, problemf("proc", "%d sockets without an owner: fd of %d processes not readable (permission denied; the agent needs root or CAP_SYS_PTRACE)", len(byInode), denied))
	}
	return probs
}

// socketInode parses "socket:[12345]".
func socketInode(target string) (uint64, bool) {
	rest, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil
}

// processNames reads comm and the exe link; either may be "" when hidden.
func processNames(root hostfs.Root, pid int) (comm, exe string) {
	dir := "proc/" + strconv.Itoa(pid)
	if data, err := root.ReadFile(dir + "/comm"); err == nil {
		comm = clean(strings.TrimSuffix(string(data), "\n"))
	}
	if target, err := root.ReadLink(dir + "/exe"); err == nil {
		exe = clean(target)
	}
	return comm, exe
}

func clean(s string) string {
	if len(s) > maxProcText {
		s = s[:maxProcText]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
