package baseline

import (
	"io/fs"
	"testing/fstest"
)

var errDenied = fs.ErrPermission

// deniedFS refuses to open one file, as a file the agent may not read.
type deniedFS struct {
	fstest.MapFS
	deny string
}

func (d deniedFS) Open(name string) (fs.File, error) {
	if name == d.deny {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errDenied}
	}
	return d.MapFS.Open(name)
}

func (d deniedFS) Stat(name string) (fs.FileInfo, error) {
	if name == d.deny {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: errDenied}
	}
	return d.MapFS.Stat(name)
}

func (d deniedFS) ReadFile(name string) ([]byte, error) {
	if name == d.deny {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errDenied}
	}
	return d.MapFS.ReadFile(name)
}
