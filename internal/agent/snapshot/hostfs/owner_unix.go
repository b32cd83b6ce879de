//go:build unix

package hostfs

import (
	"io/fs"
	"syscall"
)

func sysOwner(fi fs.FileInfo) (uid, gid uint32, ok bool) {
	if st, isStat := fi.Sys().(*syscall.Stat_t); isStat && st != nil {
		return st.Uid, st.Gid, true
	}
	return 0, 0, false
}
