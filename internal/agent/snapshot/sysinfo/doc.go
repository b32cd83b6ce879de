// Package sysinfo describes a Linux device: distribution (etc/os-release),
// kernel release, hostname, memory (proc/meminfo), architecture and boot
// time (proc/stat btime), all read relative to a root.
package sysinfo
