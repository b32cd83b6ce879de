//go:build !unix

package hostfs

import "io/fs"

func sysOwner(fs.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }
