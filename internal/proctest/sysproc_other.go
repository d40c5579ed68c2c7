//go:build !linux

package proctest

import "syscall"

// sysProcAttr has no parent-death signal to offer outside Linux; the
// cleanup registered by Start and the Watchdog still kill children, but a
// parent killed outright may leave its child running.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// parentAlive cannot tell without Pdeathsig's companion guarantees; the
// child runs.
func parentAlive(int) bool { return true }
