package main

import "syscall"

// sysProcAttr makes a subscriber die with the feed, so an interrupted run
// leaves no process behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
