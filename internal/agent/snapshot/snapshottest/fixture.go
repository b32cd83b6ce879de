package snapshottest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// Names of the fixture trees.
const (
	IoTDevice = "iotdevice" // a typical, reasonably hardened IoT gateway
	BadDevice = "baddevice" // a neglected device failing most checks
)

// Names lists the fixture trees.
func Names() []string { return []string{IoTDevice, BadDevice} }

// Fixture is one fixture tree and its manifest.
type Fixture struct {
	Name string
	// Tree is the directory holding the files as git stores them
	// (without modes, owners or symbolic links: use MapFS or Materialize).
	Tree string
	// FirewallFile is the nft JSON or iptables-save output of the device.
	FirewallFile string
	// Arch is the architecture the device reports.
	Arch string

	directives []directive
}

type directive struct {
	line int
	op   string // dir, mode, owner, symlink
	path string
	mode fs.FileMode
	uid  uint32
	gid  uint32
	dest string
}

// RootsDir is the absolute path of testdata/roots, found from this source
// file, so it works from any package's tests.
func RootsDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.FromSlash("../testdata/roots")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "roots")
}

// Open reads the manifest of the named fixture.
func Open(name string) (*Fixture, error) {
	dir := RootsDir()
	f := &Fixture{Name: name, Tree: filepath.Join(dir, name)}
	manifest := filepath.Join(dir, name+".manifest")
	data, err := os.ReadFile(manifest)
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", name, err)
	}
	for n, line := range hostfs.Lines(data) {
		if err := f.parse(n, line); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", manifest, n, err)
		}
	}
	if f.FirewallFile != "" {
		f.FirewallFile = filepath.Join(dir, f.FirewallFile)
	}
	return f, nil
}

func (f *Fixture) parse(n int, line string) error {
	w := strings.Fields(line)
	if len(w) == 0 || strings.HasPrefix(w[0], "#") {
		return nil
	}
	d := directive{line: n, op: w[0]}
	want := map[string]int{"arch": 2, "firewall": 2, "dir": 3, "mode": 3, "owner": 4, "symlink": 3}[d.op]
	if want == 0 || len(w) != want {
		return fmt.Errorf("%q: unknown directive or wrong number of fields", line)
	}
	switch d.op {
	case "arch":
		f.Arch = w[1]
		return nil
	case "firewall":
		f.FirewallFile = w[1]
		return nil
	}
	d.path = hostfs.Clean(w[1])
	if d.path == "" || d.path == "." {
		return fmt.Errorf("%q: bad path", w[1])
	}
	switch d.op {
	case "dir", "mode":
		m, err := strconv.ParseUint(w[2], 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("%q: bad mode", w[2])
		}
		d.mode = fs.FileMode(m & 0o777)
		if m&0o4000 != 0 {
			d.mode |= fs.ModeSetuid
		}
		if m&0o2000 != 0 {
			d.mode |= fs.ModeSetgid
		}
		if m&0o1000 != 0 {
			d.mode |= fs.ModeSticky
		}
	case "owner":
		uid, err1 := strconv.ParseUint(w[2], 10, 32)
		gid, err2 := strconv.ParseUint(w[3], 10, 32)
		if err1 != nil || err2 != nil {
			return errors.New("bad uid or gid")
		}
		d.uid, d.gid = uint32(uid), uint32(gid)
	case "symlink":
		d.dest = w[2]
	}
	f.directives = append(f.directives, d)
	return nil
}

// MapFS returns the tree in memory: files 0644 and directories 0755 owned
// by 0:0 (hostfs.Ownership in Sys), then the manifest applied.
func (f *Fixture) MapFS() (fstest.MapFS, error) {
	m := fstest.MapFS{}
	err := filepath.WalkDir(f.Tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(f.Tree, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			m[name] = &fstest.MapFile{Mode: fs.ModeDir | 0o755, Sys: hostfs.Ownership{}}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m[name] = &fstest.MapFile{Data: data, Mode: 0o644, Sys: hostfs.Ownership{}}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", f.Name, err)
	}
	for _, d := range f.directives {
		if err := apply(m, d); err != nil {
			return nil, fmt.Errorf("fixture %s manifest line %d: %w", f.Name, d.line, err)
		}
	}
	return m, nil
}

func apply(m fstest.MapFS, d directive) error {
	mkdirs(m, path.Dir(d.path))
	file := m[d.path]
	switch d.op {
	case "dir":
		if file == nil {
			file = &fstest.MapFile{Sys: hostfs.Ownership{}}
			m[d.path] = file
		}
		file.Mode = fs.ModeDir | d.mode
	case "symlink":
		m[d.path] = &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(d.dest), Sys: hostfs.Ownership{}}
	case "mode", "owner":
		if file == nil {
			return fmt.Errorf("%s: no such file in the tree", d.path)
		}
		if d.op == "mode" {
			file.Mode = file.Mode.Type() | d.mode
		} else {
			file.Sys = hostfs.Ownership{UID: d.uid, GID: d.gid}
		}
	}
	return nil
}

// mkdirs adds explicit 0755 directory entries for dir and its parents, so
// that directories made only by the manifest have an owner too.
func mkdirs(m fstest.MapFS, dir string) {
	for dir != "." && dir != "/" && dir != "" {
		if _, ok := m[dir]; !ok {
			m[dir] = &fstest.MapFile{Mode: fs.ModeDir | 0o755, Sys: hostfs.Ownership{}}
		}
		dir = path.Dir(dir)
	}
}

// Materialize writes the tree into dst (which must exist and be empty):
// files, directories, modes and symbolic links; owners only when running
// as root (otherwise files belong to the caller, and ownership checks see
// that).
func (f *Fixture) Materialize(dst string) error {
	m, err := f.MapFS()
	if err != nil {
		return err
	}
	// Directories, then files, then links; modes and owners last so that
	// read-only directories can still be filled.
	var dirs, files, links []string
	for name, file := range m {
		switch {
		case file.Mode.IsDir():
			dirs = append(dirs, name)
		case file.Mode.Type() == fs.ModeSymlink:
			links = append(links, name)
		default:
			files = append(files, name)
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dst, filepath.FromSlash(d)), 0o755); err != nil {
			return err
		}
	}
	for _, name := range files {
		file := m[name]
		p := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, file.Data, 0o600); err != nil {
			return err
		}
	}
	for _, name := range links {
		p := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(string(m[name].Data), p); err != nil {
			return err
		}
	}
	asRoot := os.Geteuid() == 0
	for _, name := range append(files, dirs...) {
		file := m[name]
		p := filepath.Join(dst, filepath.FromSlash(name))
		if asRoot {
			if o, ok := file.Sys.(hostfs.Ownership); ok {
				if err := os.Lchown(p, int(o.UID), int(o.GID)); err != nil {
					return err
				}
			}
		}
		if err := os.Chmod(p, goMode(file.Mode)); err != nil {
			return err
		}
	}
	return nil
}

// goMode keeps permission and special bits for os.Chmod.
func goMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
