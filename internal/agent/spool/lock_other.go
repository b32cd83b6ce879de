//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spool

import "os"

// lockDir does not lock on this platform: the agent runs on Linux.
func lockDir(string) (*os.File, error) { return nil, nil }

func unlockDir(*os.File) {}
