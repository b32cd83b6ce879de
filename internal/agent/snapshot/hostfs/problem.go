package hostfs

import (
	"bytes"
	"fmt"
	"iter"
)

// Problem is an input the collectors skipped or could not read, with why.
// Line is 1-based, 0 when the problem concerns a whole file.
type Problem struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Reason)
}

// MaxLineReason caps the part of a hostile line quoted in a reason.
const MaxLineReason = 60

// Quote renders a piece of untrusted input for a Problem reason: quoted,
// escaped and cut to MaxLineReason bytes.
func Quote(s string) string {
	if len(s) > MaxLineReason {
		return fmt.Sprintf("%q…", s[:MaxLineReason])
	}
	return fmt.Sprintf("%q", s)
}

// Lines yields the lines of data with their 1-based numbers, without the
// line terminator ("\n" or "\r\n"). Lines have no length limit.
func Lines(data []byte) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		n := 0
		for len(data) > 0 {
			n++
			var line []byte
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, data = data[:i], data[i+1:]
			} else {
				line, data = data, nil
			}
			line = bytes.TrimSuffix(line, []byte{'\r'})
			if !yield(n, string(line)) {
				return
			}
		}
	}
}
