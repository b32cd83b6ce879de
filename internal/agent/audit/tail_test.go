package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func poll(t *testing.T, tl *Tailer) []string {
	t.Helper()
	raws, err := tl.Poll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range raws {
		if r.TooLong {
			out = append(out, "TOOLONG:"+r.Text[:min(len(r.Text), 8)])
			continue
		}
		out = append(out, r.Text)
	}
	return out
}

func expectLines(t *testing.T, tl *Tailer, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, poll(t, tl)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestTailerRotationByRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	appendFile(t, path, "old 1\n")
	tl := NewTailer(TailConfig{Path: path})
	defer tl.Close()

	expectLines(t, tl) // starts at the end: "old 1" is history
	appendFile(t, path, "a\nb\npart")
	expectLines(t, tl, "a", "b")
	appendFile(t, path, "ial\n")
	expectLines(t, tl, "partial")

	// auditd rotates: audit.log -> audit.log.1. Writes still land in the
	// renamed file until the new one exists; its unterminated last line
	// ends with it.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path+".1", "c\n")
	expectLines(t, tl, "c")
	appendFile(t, path+".1", "d\ntrunc")
	appendFile(t, path, "new 1\nnew 2\n")
	expectLines(t, tl, "d", "trunc", "new 1", "new 2")
	appendFile(t, path, "new 3\n")
	expectLines(t, tl, "new 3")
}

func TestTailerTruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	appendFile(t, path, "")
	tl := NewTailer(TailConfig{Path: path})
	defer tl.Close()
	expectLines(t, tl)
	appendFile(t, path, "one\ntwo\nthree\n")
	expectLines(t, tl, "one", "two", "three")
	if err := os.Truncate(path, 0); err != nil { // copytruncate
		t.Fatal(err)
	}
	appendFile(t, path, "four\n")
	expectLines(t, tl, "four")
}

func TestTailerFromStartAndMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	var diags []DiagCode
	tl := NewTailer(TailConfig{Path: path, FromStart: true, Report: func(d Diagnostic) { diags = append(diags, d.Code) }})
	defer tl.Close()
	expectLines(t, tl)
	expectLines(t, tl)
	appendFile(t, path, "first\n")
	expectLines(t, tl, "first")
	if diff := cmp.Diff([]DiagCode{DiagLogMissing, DiagLogFound}, diags); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestTailerLateFile: a log that appears after the tailer started is read
// from its start even without FromStart: all of it is new.
func TestTailerLateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	tl := NewTailer(TailConfig{Path: path})
	defer tl.Close()
	expectLines(t, tl)
	appendFile(t, path, "written before the next poll\n")
	expectLines(t, tl, "written before the next poll")
}

func TestTailerOverlongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	appendFile(t, path, "")
	tl := NewTailer(TailConfig{Path: path, MaxLineBytes: 10})
	defer tl.Close()
	expectLines(t, tl)
	appendFile(t, path, "short\n"+strings.Repeat("x", 25)+"\nafter\n")
	expectLines(t, tl, "short", "TOOLONG:xxxxxxxx", "after")
	// An over-long line arriving in pieces is reported once and skipped
	// up to its newline.
	appendFile(t, path, strings.Repeat("y", 8))
	expectLines(t, tl)
	appendFile(t, path, strings.Repeat("y", 8))
	expectLines(t, tl, "TOOLONG:yyyyyyyy")
	appendFile(t, path, strings.Repeat("y", 30))
	expectLines(t, tl)
	appendFile(t, path, "yy\nok\n")
	expectLines(t, tl, "ok")
}

// TestTailerBigFixture reads the fixture through the tailer: the line over
// 64 KiB comes out as TooLong and the decoder counts it.
func TestTailerFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tl := NewTailer(TailConfig{Path: path, FromStart: true, MaxBatch: 7})
	defer tl.Close()
	d := NewDecoder(DecoderConfig{})
	var viaTail []Event
	for range 100 {
		raws, err := tl.Poll()
		if err != nil {
			t.Fatal(err)
		}
		if len(raws) == 0 {
			break
		}
		for _, r := range raws {
			viaTail = d.Raw(viaTail, r)
		}
	}
	viaTail = d.Flush(viaTail)
	// The truncated last line stays in the tailer (its newline may come).
	direct := NewDecoder(DecoderConfig{})
	want := decodeAll(t, direct, data)
	if diff := cmp.Diff(want, viaTail); diff != "" {
		t.Errorf("tailer vs direct (-direct +tailer):\n%s", diff)
	}
	if got := d.Stats().Skipped[SkipTooLong]; got != 1 {
		t.Errorf("SkipTooLong = %d, want 1", got)
	}
}
