package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// harness is a followed file in a temporary directory.
type harness struct {
	t      *testing.T
	dir    string
	path   string
	state  string
	events []Event
}

func newHarness(t *testing.T) *harness {
	dir := t.TempDir()
	return &harness{t: t, dir: dir, path: filepath.Join(dir, "auth.log"), state: filepath.Join(dir, "state")}
}

func (h *harness) open(mod ...func(*Config)) *Tailer {
	h.t.Helper()
	cfg := Config{Path: h.path, StateDir: h.state, OnEvent: func(e Event) { h.events = append(h.events, e) }}
	for _, m := range mod {
		m(&cfg)
	}
	tl, err := Open(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { tl.Close() })
	return tl
}

// appendTo appends s to name (creating it).
func (h *harness) appendTo(name, s string) {
	h.t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		h.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) write(s string) { h.t.Helper(); h.appendTo(h.path, s) }

// poll runs one Poll and returns the lines' texts.
func (h *harness) poll(tl *Tailer) []string {
	h.t.Helper()
	lines, err := tl.Poll()
	if err != nil {
		h.t.Fatalf("Poll: %v", err)
	}
	return texts(lines)
}

func texts(lines []Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, string(l.Text))
	}
	return out
}

func (h *harness) kinds() []EventKind {
	var out []EventKind
	for _, e := range h.events {
		out = append(out, e.Kind)
	}
	return out
}

func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func want(from, to int) []string {
	return strings.Split(strings.TrimSuffix(numbered(from, to), "\n"), "\n")
}

func TestPartialLineHeldUntilComplete(t *testing.T) {
	h := newHarness(t)
	h.write("first\nsec")
	tl := h.open()
	lines, err := tl.Poll()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"first"}, texts(lines)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if lines[0].Pos.Offset != 6 || lines[0].Size != 5 || lines[0].Truncated {
		t.Errorf("line = %+v, want Pos.Offset 6, Size 5", lines[0])
	}
	if got := h.poll(tl); len(got) != 0 {
		t.Fatalf("partial line delivered: %q", got)
	}
	h.write("ond\nthi")
	lines, _ = tl.Poll()
	if d := cmp.Diff([]string{"second"}, texts(lines)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if lines[0].Pos.Offset != 13 {
		t.Errorf("Pos.Offset = %d, want 13", lines[0].Pos.Offset)
	}
	h.write("rd\n")
	if d := cmp.Diff([]string{"third"}, h.poll(tl)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestFileMissingAtStart(t *testing.T) {
	h := newHarness(t)
	tl := h.open()
	for range 3 {
		if got := h.poll(tl); len(got) != 0 {
			t.Fatalf("lines from a missing file: %q", got)
		}
	}
	h.write(numbered(1, 3))
	if d := cmp.Diff(want(1, 3), h.poll(tl)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestRenameRotation(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 3))
	tl := h.open()
	got := h.poll(tl)

	// The writer (rsyslog before its HUP) keeps the old file open.
	old, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := os.Rename(h.path, h.path+".1"); err != nil {
		t.Fatal(err)
	}
	old.WriteString(numbered(4, 5))
	h.write(numbered(100, 101)) // the new file
	got = append(got, h.poll(tl)...)
	old.WriteString("line 6\nline 7 without newline")
	got = append(got, h.poll(tl)...)
	// The old file stays quiet for a whole Poll: it is left for the new one,
	// its unterminated last line being complete now.
	got = append(got, h.poll(tl)...)
	h.write(numbered(102, 102))
	got = append(got, h.poll(tl)...)

	w := append(want(1, 6), "line 7 without newline")
	w = append(w, want(100, 102)...)
	if d := cmp.Diff(w, got); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventRotated, EventOpened}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestCopyTruncate(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 5))
	tl := h.open()
	got := h.poll(tl)
	h.write("partial")
	got = append(got, h.poll(tl)...)
	// logrotate copytruncate: copy, then truncate in place.
	if err := os.Truncate(h.path, 0); err != nil {
		t.Fatal(err)
	}
	h.write(numbered(10, 11))
	got = append(got, h.poll(tl)...)
	h.write(numbered(12, 12))
	got = append(got, h.poll(tl)...)
	if d := cmp.Diff(append(want(1, 5), want(10, 12)...), got); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventTruncated}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestDeleteAndRecreate(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 2))
	tl := h.open()
	got := h.poll(tl)
	h.write(numbered(3, 3))
	if err := os.Remove(h.path); err != nil {
		t.Fatal(err)
	}
	got = append(got, h.poll(tl)...) // drains the deleted file
	got = append(got, h.poll(tl)...) // quiet: closes it
	got = append(got, h.poll(tl)...) // absent: waits
	h.write(numbered(4, 5))
	got = append(got, h.poll(tl)...)
	// Deleted and recreated between two polls.
	h.write(numbered(6, 6))
	if err := os.Remove(h.path); err != nil {
		t.Fatal(err)
	}
	h.write(numbered(7, 7))
	for range 2 {
		got = append(got, h.poll(tl)...)
	}
	if d := cmp.Diff(want(1, 7), got); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventRemoved, EventOpened, EventRotated, EventOpened}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestHugeLines(t *testing.T) {
	h := newHarness(t)
	huge := bytes.Repeat([]byte("A"), 200<<10)
	h.write("before\n" + string(huge) + "\nafter\n")
	tl := h.open(func(c *Config) { c.MaxPollBytes = 8 << 10 })
	var lines []Line
	for range 40 {
		l, err := tl.Poll()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l...)
		if cap(tl.partial) > 2*DefaultMaxLine {
			t.Fatalf("line buffer grew to %d bytes", cap(tl.partial))
		}
	}
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3", len(lines))
	}
	if string(lines[0].Text) != "before" || string(lines[2].Text) != "after" {
		t.Errorf("lines around the huge one: %q, %q", lines[0].Text, lines[2].Text)
	}
	l := lines[1]
	if !l.Truncated || len(l.Text) != DefaultMaxLine || l.Size != int64(len(huge)) || !bytes.Equal(l.Text, huge[:DefaultMaxLine]) {
		t.Errorf("huge line: Truncated %v, %d bytes kept, Size %d; want true, %d, %d", l.Truncated, len(l.Text), l.Size, DefaultMaxLine, len(huge))
	}
	if want := int64(7 + len(huge) + 1); l.Pos.Offset != want {
		t.Errorf("huge line Pos.Offset = %d, want %d", l.Pos.Offset, want)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventLineCut}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestRestartFromCheckpoint(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 10))
	a := h.open()
	lines, err := a.Poll()
	if err != nil {
		t.Fatal(err)
	}
	// The consumer durably took lines 1-4, then the agent stopped.
	if err := a.Commit(lines[3].Pos); err != nil {
		t.Fatal(err)
	}
	a.Close()
	h.write(numbered(11, 12) + "line 1")

	b := h.open()
	got := h.poll(b)
	h.write("3\n")
	got = append(got, h.poll(b)...)
	if d := cmp.Diff(want(5, 13), got); d != "" {
		t.Errorf("after restart (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventResumed}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	// Nothing is left behind in the state directory but the checkpoint.
	entries, _ := os.ReadDir(h.state)
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want 1", len(entries))
	}
}

func TestRestartAfterRotationWhileStopped(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 10))
	a := h.open()
	lines, _ := a.Poll()
	if err := a.Commit(lines[2].Pos); err != nil {
		t.Fatal(err)
	}
	a.Close()
	// While stopped: more lines, rotation, lines in the new file.
	h.write(numbered(11, 12))
	if err := os.Rename(h.path, h.path+".1"); err != nil {
		t.Fatal(err)
	}
	h.write(numbered(13, 14))

	b := h.open()
	var got []string
	for range 3 {
		got = append(got, h.poll(b)...)
	}
	if d := cmp.Diff(want(4, 14), got); d != "" {
		t.Errorf("after restart (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventResumed, EventRotated, EventOpened}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	if h.events[1].File != h.path+".1" {
		t.Errorf("resumed in %s, want %s", h.events[1].File, h.path+".1")
	}
}

func TestRestartCheckpointedFileGone(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 3))
	a := h.open()
	lines, _ := a.Poll()
	a.Commit(lines[0].Pos)
	a.Close()
	if err := os.Remove(h.path); err != nil {
		t.Fatal(err)
	}
	h.write(numbered(20, 21))
	b := h.open()
	if d := cmp.Diff(want(20, 21), h.poll(b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventGap, EventOpened}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestRestartCheckpointBeyondEnd(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 3))
	a := h.open()
	lines, _ := a.Poll()
	a.Commit(lines[2].Pos)
	a.Close()
	// Truncated in place while stopped.
	if err := os.Truncate(h.path, 0); err != nil {
		t.Fatal(err)
	}
	h.write(numbered(7, 7))
	b := h.open()
	if d := cmp.Diff(want(7, 7), h.poll(b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventTruncated, EventOpened}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestBadCheckpoint(t *testing.T) {
	h := newHarness(t)
	if err := os.MkdirAll(h.state, 0o700); err != nil {
		t.Fatal(err)
	}
	file := stateFile(h.state, h.path)
	for _, content := range []string{"{garbage", `{"path":"/elsewhere","dev":1,"ino":2,"offset":3}`, `{"path":"` + h.path + `","offset":-1}`, strings.Repeat(" ", 5000)} {
		h.events = nil
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		h.write("x\n")
		tl := h.open()
		if len(h.poll(tl)) == 0 {
			t.Errorf("checkpoint %.20q: no lines read", content)
		}
		if len(h.events) == 0 || h.events[0].Kind != EventBadCheckpoint || !strings.Contains(h.events[0].Detail, "invalid checkpoint") {
			t.Errorf("checkpoint %.20q: events %v, want bad_checkpoint first", content, h.events)
		}
		tl.Close()
	}
}

func TestStartAtEnd(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 3) + "line 4 written before we star")
	tl := h.open(func(c *Config) { c.StartAtEnd = true })
	if got := h.poll(tl); len(got) != 0 {
		t.Fatalf("StartAtEnd delivered %q", got)
	}
	h.write("ted\n" + numbered(5, 6))
	if d := cmp.Diff(want(5, 6), h.poll(tl)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestNotRegular(t *testing.T) {
	h := newHarness(t)
	if err := os.Mkdir(h.path, 0o700); err != nil {
		t.Fatal(err)
	}
	tl := h.open()
	if _, err := tl.Poll(); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Poll on a directory: %v, want ErrNotRegular", err)
	}
}

func TestCommitPersistsAtomically(t *testing.T) {
	h := newHarness(t)
	tl := h.open()
	p := Position{Dev: 1, Ino: 2, Offset: 3}
	if err := tl.Commit(p); err != nil {
		t.Fatal(err)
	}
	got, ok, err := loadCheckpoint(stateFile(h.state, h.path), h.path)
	if err != nil || !ok || got != p {
		t.Errorf("loadCheckpoint = %v, %v, %v; want %v", got, ok, err, p)
	}
	if c, ok := tl.Committed(); !ok || c != p {
		t.Errorf("Committed() = %v, %v", c, ok)
	}
	// A state dir that cannot be written makes Commit fail, loudly.
	if err := os.RemoveAll(h.state); err != nil {
		t.Fatal(err)
	}
	if err := tl.Commit(Position{Offset: 4}); err == nil {
		t.Error("Commit into a missing state dir succeeded")
	}
}

func TestRunDrivenByTicker(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 3))
	tl := h.open(func(c *Config) { c.MaxPollBytes = 8 }) // several Polls per tick
	tick := make(chan time.Time)
	batches := make(chan []string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tl.Run(ctx, tick, func(lines []Line) error {
			batches <- texts(lines)
			return tl.Commit(lines[len(lines)-1].Pos)
		})
	}()
	tick <- time.Time{}
	var got []string
	for len(got) < 3 {
		got = append(got, <-batches...)
	}
	if d := cmp.Diff(want(1, 3), got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if c, _ := tl.Committed(); c.Offset != int64(len(numbered(1, 3))) {
		t.Errorf("committed offset %d, want %d", c.Offset, len(numbered(1, 3)))
	}
}

func TestPositionHead(t *testing.T) {
	h := newHarness(t)
	content := numbered(1, 40) // > HeadLen bytes
	h.write(content)
	tl := h.open()
	lines, err := tl.Poll()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		n := min(l.Pos.Offset, HeadLen)
		if want := headHash([]byte(content[:n])); l.Pos.Head != want {
			t.Fatalf("line %q: Head %x, want hash of the first %d bytes %x", l.Text, l.Pos.Head, n, want)
		}
	}
}

// TestRestartInodeReused: a file recreated on the checkpointed inode (the
// checkpoint's Head does not match its first bytes) is read from its start.
func TestRestartInodeReused(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 3))
	a := h.open()
	lines, _ := a.Poll()
	p := lines[1].Pos
	p.Head ^= 1 // as if another file had been on this inode
	if err := a.Commit(p); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := h.open()
	if d := cmp.Diff(want(1, 3), h.poll(b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventGap, EventOpened}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

// TestCopyTruncateRefilled: truncated and written past our offset between
// two Polls; the changed first bytes give it away.
func TestCopyTruncateRefilled(t *testing.T) {
	h := newHarness(t)
	h.write(numbered(1, 2))
	tl := h.open()
	got := h.poll(tl)
	if err := os.Truncate(h.path, 0); err != nil {
		t.Fatal(err)
	}
	h.write(numbered(10, 19))
	got = append(got, h.poll(tl)...)
	if d := cmp.Diff(append(want(1, 2), want(10, 19)...), got); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EventKind{EventOpened, EventTruncated}, h.kinds()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}
