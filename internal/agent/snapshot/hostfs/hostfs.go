package hostfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// DefaultMaxFileSize caps every file read when Root.MaxFileSize is zero.
// /proc/net/tcp of a busy gateway is a few MB; nothing the collectors read
// legitimately comes close to 16 MB.
const DefaultMaxFileSize = 16 << 20

// ErrTooLarge is returned (wrapped) when a file exceeds the read cap.
var ErrTooLarge = errors.New("file exceeds the read cap")

// ErrNoReadLink is returned when the file system cannot read symbolic links.
var ErrNoReadLink = errors.New("file system cannot read symbolic links")

// Root is a device root file system. Names are slash-separated and relative
// ("etc/passwd"); a leading "/" is accepted and dropped, so "/etc/passwd"
// and "etc/passwd" name the same file.
type Root struct {
	FS          fs.FS
	MaxFileSize int64 // 0 means DefaultMaxFileSize
}

// Dir returns the root file system at dir ("/" for the running device).
// Symbolic links inside it are resolved by the operating system, as for
// any path under dir.
func Dir(dir string) Root {
	return Root{FS: os.DirFS(dir)}
}

// Clean turns an absolute or relative slash path into an fs.FS name.
// It returns "" when the name would leave the root ("..") or is invalid.
func Clean(name string) string {
	name = path.Clean("/" + name)
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		return "."
	}
	if !fs.ValidPath(name) {
		return ""
	}
	return name
}

func (r Root) name(op, name string) (string, error) {
	n := Clean(name)
	if n == "" {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return n, nil
}

func (r Root) limit() int64 {
	if r.MaxFileSize > 0 {
		return r.MaxFileSize
	}
	return DefaultMaxFileSize
}

// ReadFile reads a whole file, failing with ErrTooLarge past the cap.
// Files in /proc report size 0, so the cap is enforced while reading.
func (r Root) ReadFile(name string) ([]byte, error) {
	n, err := r.name("read", name)
	if err != nil {
		return nil, err
	}
	f, err := r.FS.Open(n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	max := r.limit()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", n, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: %w (%d bytes)", n, ErrTooLarge, max)
	}
	return data, nil
}

// Stat follows symbolic links.
func (r Root) Stat(name string) (fs.FileInfo, error) {
	n, err := r.name("stat", name)
	if err != nil {
		return nil, err
	}
	return fs.Stat(r.FS, n)
}

// Lstat does not follow a final symbolic link.
func (r Root) Lstat(name string) (fs.FileInfo, error) {
	n, err := r.name("lstat", name)
	if err != nil {
		return nil, err
	}
	return fs.Lstat(r.FS, n)
}

// ReadLink returns a symbolic link's target, unresolved.
func (r Root) ReadLink(name string) (string, error) {
	n, err := r.name("readlink", name)
	if err != nil {
		return "", err
	}
	if _, ok := r.FS.(fs.ReadLinkFS); !ok {
		return "", &fs.PathError{Op: "readlink", Path: n, Err: ErrNoReadLink}
	}
	return fs.ReadLink(r.FS, n)
}

// ReadDir lists a directory sorted by name.
func (r Root) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := r.name("readdir", name)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(r.FS, n)
}
