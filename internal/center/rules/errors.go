package rules

import (
	"fmt"
	"strings"
)

// Error is one problem of a rule file, at a line and a field.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when the file itself is at fault
	Field string // the field's path in the rule ("match.fields.Result", "steps[1].rule"), or "yaml"
	Msg   string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
}

// ErrorList is every problem found, in file and line order. Match a single
// problem with errors.As on *Error.
type ErrorList []*Error

// maxErrors bounds an ErrorList: past it, a file is too broken to list.
const maxErrors = 50

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}
