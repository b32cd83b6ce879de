package rules

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxFiles bounds the rule files of a directory.
const MaxFiles = 256

// LoadDir parses the rule files of dir (its *.yaml and *.yml files, not
// hidden ones, not subdirectories; symbolic links are followed) and merges
// them with builtin (see NewSet). An empty dir means no user rules.
func LoadDir(dir string, builtin []*Rule) (*Set, error) {
	files, _, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	return fromFiles(files, builtin)
}

type ruleFile struct {
	name string // path as given in errors
	data []byte
}

// readDir reads the rule files of dir and a digest of their names and
// contents.
func readDir(dir string) ([]ruleFile, [32]byte, error) {
	var sum [32]byte
	if dir == "" {
		return nil, sum, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, sum, fmt.Errorf("rules: directory: %w", err)
	}
	h := sha256.New()
	var files []ruleFile
	for _, e := range entries { // sorted by name
		name := e.Name()
		if strings.HasPrefix(name, ".") || (!strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml")) {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			return nil, sum, fmt.Errorf("rules: %w", err)
		}
		if !st.Mode().IsRegular() {
			continue
		}
		if len(files) == MaxFiles {
			return nil, sum, fmt.Errorf("rules: %s: more than %d rule files", dir, MaxFiles)
		}
		if st.Size() > MaxFileSize {
			return nil, sum, &Error{File: p, Field: "file", Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
		}
		data, err := readLimited(p)
		if err != nil {
			return nil, sum, err
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(data)))
		h.Write(n[:])
		h.Write(data)
		files = append(files, ruleFile{name: p, data: data})
	}
	copy(sum[:], h.Sum(nil))
	return files, sum, nil
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("rules: %s: %w", p, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: p, Field: "file", Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	return data, nil
}

func fromFiles(files []ruleFile, builtin []*Rule) (*Set, error) {
	var user []*Rule
	var errs ErrorList
	for _, f := range files {
		rs, err := Parse(f.name, f.data)
		if el, ok := err.(ErrorList); ok {
			errs = append(errs, el...)
			continue
		}
		user = append(user, rs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return NewSet(builtin, user)
}

// Watcher keeps the rule set of a directory current: Reload reads the
// directory again and, when its files changed and are all valid, makes
// their set current. A bad file keeps the previous good set (at first, the
// built-in rules alone) and reports its errors once. Safe for concurrent
// use.
type Watcher struct {
	dir     string
	builtin []*Rule

	mu      sync.Mutex
	cur     *Set
	sum     [32]byte // of the files last read
	haveSum bool
	err     error // of the files last read, nil if cur is their set
}

// NewWatcher returns a watcher of dir whose current set is the built-in
// rules alone until the first Reload.
func NewWatcher(dir string, builtin []*Rule) (*Watcher, error) {
	s, err := NewSet(builtin, nil)
	if err != nil {
		return nil, err
	}
	return &Watcher{dir: dir, builtin: slices.Clone(builtin), cur: s}, nil
}

// Reload reads the directory. It returns the current set, whether it just
// changed, and the error of the files when they changed and are refused
// (the current set is then kept). Unchanged files are not parsed again and
// their error is not returned again (Err still has it).
func (w *Watcher) Reload() (set *Set, changed bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	files, sum, err := readDir(w.dir)
	if err != nil {
		if w.err != nil && w.err.Error() == err.Error() {
			return w.cur, false, nil
		}
		w.err, w.haveSum = err, false
		return w.cur, false, err
	}
	if w.haveSum && sum == w.sum {
		return w.cur, false, nil
	}
	w.sum, w.haveSum = sum, true
	s, err := fromFiles(files, w.builtin)
	if err != nil {
		w.err = err
		return w.cur, false, err
	}
	w.cur, w.err = s, nil
	return s, true, nil
}

// Current returns the current set.
func (w *Watcher) Current() *Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// Err returns the error of the files last read (nil when the current set
// is theirs).
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Run reloads every interval until ctx ends, calling onChange with each
// new set and onError with each refusal (either may be nil).
func (w *Watcher) Run(ctx context.Context, every time.Duration, onChange func(*Set), onError func(error)) {
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, changed, err := w.Reload()
		if err != nil && onError != nil {
			onError(err)
		}
		if changed && onChange != nil {
			onChange(s)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
