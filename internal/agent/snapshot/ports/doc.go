// Package ports lists a Linux device's listening sockets from
// ROOT/proc/net/{tcp,tcp6,udp,udp6} and finds the process owning each one
// through the socket links in ROOT/proc/[pid]/fd.
package ports
