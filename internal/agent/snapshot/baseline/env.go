package baseline

import (
	"github.com/moatsec/moat/internal/agent/snapshot/hostfs"
)

// env reads each input once for all checks.
type env struct {
	root hostfs.Root
	path string

	sshdDone bool
	sshd     SSHDConfig
	sshdErr  error
}

func newEnv(root hostfs.Root, path string) *env {
	return &env{root: root, path: path}
}

func (e *env) sshdConfig() (SSHDConfig, error) {
	if !e.sshdDone {
		e.sshd, e.sshdErr = ReadSSHDConfig(e.root, SSHDConfigFile)
		e.sshdDone = true
	}
	return e.sshd, e.sshdErr
}

func (e *env) problems() []hostfs.Problem {
	return e.sshd.Problems
}
