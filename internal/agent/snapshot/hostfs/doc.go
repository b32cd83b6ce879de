// Package hostfs reads the files of a device's root file system for the
// snapshot collectors: every path is relative to a root (a real "/" or a
// fixture tree), every read is capped, and file ownership is reported
// whether the file system is a real directory or an in-memory fstest.MapFS.
package hostfs
