package hostfs

import "io/fs"

// Ownership is what fixture file systems (fstest.MapFS) put in
// MapFile.Sys to give a file an owner; Owner reads it back.
type Ownership struct {
	UID, GID uint32
}

// Owner returns the owner of a file, from the operating system's stat
// data or from an Ownership in Sys. ok is false when neither is there.
func Owner(fi fs.FileInfo) (uid, gid uint32, ok bool) {
	switch s := fi.Sys().(type) {
	case Ownership:
		return s.UID, s.GID, true
	case *Ownership:
		if s != nil {
			return s.UID, s.GID, true
		}
	}
	return sysOwner(fi)
}
