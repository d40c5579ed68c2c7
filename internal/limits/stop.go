//go:build linux

package limits

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// How a probe stops early: an interrupted ringbench (SIGINT, SIGTERM
// cancel its context) must not wait out a probe, which --duration may
// make minutes long, nor leave a C probe or compiler running.

// A window is how long a Go probe measures: d, or no longer once ctx is
// done. Each probe still takes its first sample, so that it always has a
// figure; a cancelled Measure does not report them.
type window struct {
	ctx context.Context
	d   time.Duration
}

// start begins the window where the probe's samples begin (after its
// set-up): open reports whether to take another sample.
func (w window) start() (open func() bool) {
	end := time.Now().Add(w.d)
	return func() bool { return w.ctx.Err() == nil && time.Now().Before(end) }
}

// command is a child of Measure (the compiler, a C probe): in a process
// group of its own, which is stopped whole when ctx ends (cc leaves its
// passes, cc1 and ld, behind if only cc is), and killed by the kernel if
// this process dies first (prctl(2), PR_SET_PDEATHSIG). Pdeathsig fires
// when the starting thread exits: Measure is not called with the OS thread
// locked. The group gets SIGTERM, so that cc removes its temporary files
// (SIGKILL left an empty ccXXXX.s in $TMPDIR); what has not exited a
// second later is killed.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	return cmd
}

// stopGrace is how long a cancelled child has to exit after SIGTERM.
const stopGrace = time.Second
