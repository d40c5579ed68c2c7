package launch

import (
	"os"
	"syscall"
)

// SysProcAttr makes the kernel SIGKILL the child when the parent goes away,
// so a parent killed by `go test -timeout`, a signal or a crash leaves no
// child behind. See prctl(2), PR_SET_PDEATHSIG.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// parentAlive closes the window in which the parent died before the child
// armed Pdeathsig: the child is then reparented, and its parent pid changes.
func parentAlive(ppid int) bool {
	return os.Getppid() == ppid
}
