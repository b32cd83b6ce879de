// Package tail follows a log file that is rotated under it and hands out
// its complete lines, each with the (device, inode, offset) position just
// after it. Positions are checkpointed atomically in a state directory when
// the consumer commits them, so that a restarted tailer resumes exactly
// after the last line the consumer had durably taken: no duplicates, no
// gaps.
//
// It polls (no inotify): the caller drives Poll, directly or through Run
// with a ticker channel it owns, so tests are deterministic. See
// docs/agent-authlog.md.
package tail
