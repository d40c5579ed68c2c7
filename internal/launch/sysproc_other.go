//go:build !linux

package launch

import "syscall"

// SysProcAttr has no parent-death signal to offer outside Linux; the
// cleanup registered by Start and the Watchdog still kill children, but a
// parent killed outright may leave its child running.
func SysProcAttr() *syscall.SysProcAttr { return nil }

// parentAlive cannot tell without Pdeathsig's companion guarantees; the
// child runs.
func parentAlive(int) bool { return true }
