package firewall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Runner runs a command and returns its standard output. Tests inject one
// that returns fixture outputs.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// ErrOutputTooLarge is returned by ExecRunner past its output cap.
var ErrOutputTooLarge = errors.New("command output exceeds the cap")

// ExecRunner runs commands with os/exec, keeping at most maxOutput bytes
// of standard output (the command fails with ErrOutputTooLarge past it)
// and the first 4 KB of standard error for the error message.
func ExecRunner(maxOutput int64) Runner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		out := &capped{max: maxOutput}
		errOut := &capped{max: 4096}
		cmd.Stdout, cmd.Stderr = out, errOut
		err := cmd.Run()
		if out.over {
			return nil, fmt.Errorf("%s: %w (%d bytes)", name, ErrOutputTooLarge, maxOutput)
		}
		if err != nil {
			if msg := strings.TrimSpace(errOut.buf.String()); msg != "" {
				return nil, fmt.Errorf("%s: %w: %s", name, err, msg)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out.buf.Bytes(), nil
	}
}

// capped keeps the first max bytes written and remembers if more came.
type capped struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - int64(c.buf.Len())
	if int64(len(p)) > room {
		c.over = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil // keep draining so the command does not block
	}
	return c.buf.Write(p)
}
