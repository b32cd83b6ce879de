package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// DefaultPollInterval is how often an idle tailer looks for new data and
// rotation.
const DefaultPollInterval = 250 * time.Millisecond

// Raw is one record as a source delivers it.
type Raw struct {
	// Type is the netlink message type, or 0 for an audit.log line (whose
	// type is in its text).
	Type uint16
	Text string
	// TooLong marks a line over the limit: Text holds only its start.
	TooLong bool
}

// TailConfig configures a Tailer.
type TailConfig struct {
	Path         string
	FromStart    bool          // read the file present at start from its beginning, not its end
	MaxLineBytes int           // default DefaultMaxLineBytes
	PollInterval time.Duration // default DefaultPollInterval
	MaxBatch     int           // lines returned by one Poll at most (default 4096)
	// Report receives the log's state changes (missing, back, read errors).
	Report func(Diagnostic)
}

// Tailer follows an audit log file written by auditd across rotations:
// auditd renames audit.log to audit.log.1 and starts a new audit.log; the
// tailer drains the renamed file, then opens the new one from its start. A
// file truncated in place is read again from its start. A line without its
// newline is held until the newline comes, or until rotation ends its file.
type Tailer struct {
	cfg       TailConfig
	f         *os.File
	info      os.FileInfo
	offset    int64
	partial   []byte
	tooLong   bool // discarding the rest of an over-long line
	opened    bool // a file was opened once: later ones are read from the start
	missing   bool
	buf       []byte
	lastError string
}

// NewTailer returns a Tailer; it opens the file on its first Poll.
func NewTailer(cfg TailConfig) *Tailer {
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.Report == nil {
		cfg.Report = func(Diagnostic) {}
	}
	return &Tailer{cfg: cfg, buf: make([]byte, 64<<10)}
}

// Name implements Source.
func (t *Tailer) Name() string { return "file:" + t.cfg.Path }

// Close implements Source.
func (t *Tailer) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

// Read implements Source: it polls until lines come, wait passes or ctx ends.
func (t *Tailer) Read(ctx context.Context, wait time.Duration) ([]Raw, error) {
	deadline := time.Now().Add(wait)
	for {
		lines, err := t.Poll()
		if len(lines) > 0 || err != nil {
			return lines, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		timer := time.NewTimer(min(left, t.cfg.PollInterval))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// Poll returns the complete lines written since the last call, following a
// rotation or truncation if one happened. It does not wait.
func (t *Tailer) Poll() ([]Raw, error) {
	var out []Raw
	if t.f == nil && !t.open() {
		return nil, nil
	}
	for len(out) < t.cfg.MaxBatch {
		n, err := t.f.Read(t.buf)
		if n > 0 {
			t.offset += int64(n)
			out = t.split(out, t.buf[:n])
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			t.problem(fmt.Errorf("read %s: %w", t.cfg.Path, err))
			return out, nil
		}
		// At the end of the open file: has it been replaced or truncated?
		switched, err := t.checkRotation(&out)
		if err != nil || !switched {
			return out, nil
		}
	}
	return out, nil
}

// checkRotation switches to a new file at the path, or rewinds a truncated
// one. It reports whether reading should go on.
func (t *Tailer) checkRotation(out *[]Raw) (bool, error) {
	cur, err := os.Stat(t.cfg.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // renamed, new one not created yet: keep the old
	}
	if err != nil {
		t.problem(fmt.Errorf("stat %s: %w", t.cfg.Path, err))
		return false, err
	}
	if !os.SameFile(cur, t.info) {
		// Drain what was written to the old file after our last read, then
		// hand out its unterminated last line: nothing will complete it.
		if _, err := io.Copy(writerFunc(func(p []byte) { *out = t.split(*out, p) }), t.f); err != nil {
			t.problem(fmt.Errorf("drain %s: %w", t.cfg.Path, err))
		}
		if len(t.partial) > 0 && !t.tooLong {
			*out = append(*out, Raw{Text: string(t.partial)})
		}
		t.partial, t.tooLong = t.partial[:0], false
		_ = t.f.Close()
		t.f = nil
		return t.open(), nil
	}
	if cur.Size() < t.offset {
		if _, err := t.f.Seek(0, io.SeekStart); err != nil {
			t.problem(fmt.Errorf("rewind %s: %w", t.cfg.Path, err))
			return false, err
		}
		t.offset, t.partial, t.tooLong = 0, t.partial[:0], false
		return true, nil
	}
	return false, nil
}

type writerFunc func(p []byte)

func (w writerFunc) Write(p []byte) (int, error) { w(p); return len(p), nil }

// open opens the path; the first file is read from its end unless FromStart.
func (t *Tailer) open() bool {
	f, err := os.Open(t.cfg.Path)
	if err != nil {
		// A file that appears later is new: it is read from its start.
		t.opened = true
		if !t.missing {
			t.missing = true
			t.cfg.Report(Diagnostic{Code: DiagLogMissing, Severity: SeverityWarning,
				Message: "audit log cannot be opened; is auditd installed and running?",
				Err:     fmt.Errorf("open %s: %w", t.cfg.Path, err)})
		}
		return false
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		t.problem(fmt.Errorf("stat %s: %w", t.cfg.Path, err))
		return false
	}
	t.offset = 0
	if !t.opened && !t.cfg.FromStart {
		if t.offset, err = f.Seek(0, io.SeekEnd); err != nil {
			_ = f.Close()
			t.problem(fmt.Errorf("seek %s: %w", t.cfg.Path, err))
			return false
		}
	}
	if t.missing {
		t.missing = false
		t.cfg.Report(Diagnostic{Code: DiagLogFound, Severity: SeverityInfo,
			Message: "reading audit log " + t.cfg.Path})
	}
	t.f, t.info, t.opened, t.lastError = f, info, true, ""
	return true
}

// problem reports a read error once until the next success.
func (t *Tailer) problem(err error) {
	if err.Error() == t.lastError {
		return
	}
	t.lastError = err.Error()
	t.cfg.Report(Diagnostic{Code: DiagLogReadError, Severity: SeverityError,
		Message: "reading the audit log failed", Err: err})
}

// split cuts data into lines, keeping an unterminated end in t.partial and
// cutting lines longer than MaxLineBytes short.
func (t *Tailer) split(out []Raw, data []byte) []Raw {
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if t.tooLong {
			if nl < 0 {
				return out
			}
			t.tooLong = false
			data = data[nl+1:]
			continue
		}
		if nl < 0 {
			if len(t.partial)+len(data) > t.cfg.MaxLineBytes {
				out = t.overlong(out, data)
				return out
			}
			t.partial = append(t.partial, data...)
			return out
		}
		line := data[:nl]
		data = data[nl+1:]
		if len(t.partial)+len(line) > t.cfg.MaxLineBytes {
			out = t.overlong(out, line)
			t.tooLong = false
			continue
		}
		if len(t.partial) > 0 {
			t.partial = append(t.partial, line...)
			line = t.partial
		}
		out = append(out, Raw{Text: string(line)})
		t.partial = t.partial[:0]
	}
	return out
}

// overlong hands out the start of an over-long line and discards the rest.
func (t *Tailer) overlong(out []Raw, more []byte) []Raw {
	const keep = 256
	head := make([]byte, 0, keep)
	head = append(head, t.partial[:min(len(t.partial), keep)]...)
	head = append(head, more[:min(len(more), keep-len(head))]...)
	out = append(out, Raw{Text: string(head), TooLong: true})
	t.partial, t.tooLong = t.partial[:0], true
	return out
}
