// Package users reads the local accounts and groups of a device from
// ROOT/etc/passwd and ROOT/etc/group: who can log in, and who holds
// privilege (uid 0 or membership of root, sudo, wheel, adm, docker, …).
package users
