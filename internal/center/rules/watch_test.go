package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherReload(t *testing.T) {
	builtin := mustParse(t, "builtin/b.yaml", builtinSrc)
	dir := t.TempDir()
	w, err := NewWatcher(dir, builtin)
	if err != nil {
		t.Fatal(err)
	}
	good := "id: mine\nseverity: Low\nkind: match\nmatch: {name: Login}\n"
	bad := "id: mine\nseverity: Low\nkind: match\nmatch: {name: Login}\n---\nid: two\nseverity: Low\nkind: threshold\nmatch: {name: Login}\nwindow: 5 min\nthreshold: 3\n"
	steps := []struct {
		name    string
		do      func()
		changed bool
		errSub  string // error Reload returns
		active  string
		errNow  bool // Err() after
	}{
		{"empty dir: builtin", func() {}, true, "", "brute,brute-success,ports", false},
		{"unchanged", func() {}, false, "", "brute,brute-success,ports", false},
		{"good file", func() { write(t, dir, "a.yaml", good) }, true, "", "brute,brute-success,mine,ports", false},
		{"ignored files", func() { write(t, dir, ".hidden.yaml", "junk: ["); write(t, dir, "notes.txt", "junk") }, false, "", "brute,brute-success,mine,ports", false},
		{"bad file keeps the good set", func() { write(t, dir, "a.yaml", bad) }, false, filepath.Join(dir, "a.yaml") + ":10: window: bad duration \"5 min\"", "brute,brute-success,mine,ports", true},
		{"bad file reported once", func() {}, false, "", "brute,brute-success,mine,ports", true},
		{"fixed", func() {
			write(t, dir, "a.yaml", good+"---\nid: two\nseverity: Low\nkind: match\nmatch: {name: Login}\n")
		}, true, "", "brute,brute-success,mine,ports,two", false},
		{"override built-in", func() {
			write(t, dir, "b.yml", "id: ports\nseverity: High\nkind: newvalue\nmatch: {name: ListeningPorts}\nvalue: [LocalPort]\n")
		}, true, "", "brute,brute-success,mine,ports,two", false},
		{"disable built-in", func() { write(t, dir, "b.yml", "id: brute\nenabled: false\n") }, true, "", "mine,ports,two", false},
		{"bad second file", func() { write(t, dir, "c.yaml", "id: ports\nseverity: High\n") }, false, "c.yaml:1: kind: required", "mine,ports,two", true},
		{"files removed", func() {
			for _, f := range []string{"a.yaml", "b.yml", "c.yaml"} {
				os.Remove(filepath.Join(dir, f))
			}
		}, true, "", "brute,brute-success,ports", false},
		{"directory gone", func() { os.RemoveAll(dir) }, false, "rules: directory:", "brute,brute-success,ports", true},
		{"directory gone reported once", func() {}, false, "", "brute,brute-success,ports", true},
	}
	for _, st := range steps {
		st.do()
		s, changed, err := w.Reload()
		if changed != st.changed {
			t.Errorf("%s: changed = %v", st.name, changed)
		}
		if st.errSub == "" && err != nil || st.errSub != "" && (err == nil || !strings.Contains(err.Error(), st.errSub)) {
			t.Errorf("%s: err = %v, want %q", st.name, err, st.errSub)
		}
		if got := ids(s.Rules()); got != st.active {
			t.Errorf("%s: active %s, want %s", st.name, got, st.active)
		}
		if w.Current() != s {
			t.Errorf("%s: Current is not the set Reload returned", st.name)
		}
		if (w.Err() != nil) != st.errNow {
			t.Errorf("%s: Err() = %v", st.name, w.Err())
		}
	}
}

func TestLoadDir(t *testing.T) {
	builtin := mustParse(t, "builtin/b.yaml", builtinSrc)
	dir := t.TempDir()
	write(t, dir, "x.yaml", "id: mine\nseverity: Low\nkind: match\nmatch: {name: Login}\n")
	if err := os.Symlink(filepath.Join(dir, "x.yaml"), filepath.Join(dir, "y.yaml")); err != nil {
		t.Fatal(err)
	}
	// The same rule through a link is a duplicate.
	if _, err := LoadDir(dir, builtin); err == nil || !strings.Contains(err.Error(), `y.yaml:1: id: duplicate id "mine"`) {
		t.Errorf("err = %v", err)
	}
	os.Remove(filepath.Join(dir, "y.yaml"))
	s, err := LoadDir(dir, builtin)
	if err != nil || ids(s.Rules()) != "brute,brute-success,mine,ports" {
		t.Errorf("LoadDir = %v, %v", s, err)
	}
	s, err = LoadDir("", builtin)
	if err != nil || ids(s.Rules()) != "brute,brute-success,ports" {
		t.Errorf("LoadDir(\"\") = %v, %v", s, err)
	}
}
