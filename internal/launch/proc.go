// Package launch starts child processes that cannot outlive their parent
// and talks to them in lines: the one launcher of ringbench's peers, the
// examples' subscribers and (through internal/proctest) the cross-process
// tests.
//
// A child is usually this program again (Self), told its role and its
// settings in the environment, so that neither the program's nor a test
// binary's flags get in the way. It prints lines on its standard output,
// which the parent reads in order (ReadLine, NextLine), and reads lines the
// parent writes to its standard input (WriteLine). Whatever it writes on its
// standard error is kept (the last 64 KiB) for the parent's error messages.
//
// On Linux every child gets Pdeathsig SIGKILL, so it dies with the parent
// even if the parent is killed outright; a child whose parent died before
// that was armed notices (ParentAlive) and exits. Pdeathsig fires when the
// creating OS thread exits, which Go threads do only when a goroutine that
// called runtime.LockOSThread returns without unlocking: do not start a
// child from such a goroutine.
//
// When not to use this: for work that goroutines of one process can do.
// A process costs milliseconds to start.
package launch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Environment variables that make this program a child started by Self.
const (
	RoleEnv   = "SHMRING_CHILD_ROLE"   // the child's role
	ConfigEnv = "SHMRING_CHILD_CONFIG" // its settings, as JSON
	// ParentEnv carries the parent's pid, so that a child whose parent died
	// before Pdeathsig was armed can tell (ParentAlive).
	ParentEnv = "SHMRING_CHILD_PARENT"
)

// ioDrainDelay bounds how long the reaper keeps reading a child's output
// after it exited: only a grandchild that inherited it could hold it open.
const ioDrainDelay = 5 * time.Second

// Self prepares this program, re-executed, as a child in role with cfg
// (marshalled to JSON in ConfigEnv; nil for none) and args.
func Self(role string, cfg any, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable to start a child: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), RoleEnv+"="+role, ParentEnv+"="+strconv.Itoa(os.Getpid()))
	if cfg != nil {
		b, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, ConfigEnv+"="+string(b))
	}
	return cmd, nil
}

// Role returns the role this process was started in by Self, if any.
func Role() (string, bool) { return os.LookupEnv(RoleEnv) }

// Config reads the settings Self gave this child into v.
func Config(v any) error {
	if err := json.Unmarshal([]byte(os.Getenv(ConfigEnv)), v); err != nil {
		return fmt.Errorf("%s: %w", ConfigEnv, err)
	}
	return nil
}

// ParentAlive reports whether the parent named in ParentEnv is still this
// process's parent (true when none is named).
func ParentAlive() bool {
	ppid, err := strconv.Atoi(os.Getenv(ParentEnv))
	return err != nil || parentAlive(ppid)
}

// Proc is a started child. Its methods may be called from any goroutine.
type Proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	stdout lineQueue
	stderr tailBuffer

	done    chan struct{} // closed once the child is reaped and its output drained
	waitErr error         // cmd.Wait's result; read only after done is closed
}

// Start starts cmd, which must not have been started; its Stdin, Stdout,
// Stderr, SysProcAttr and WaitDelay are set here. name labels the child in
// errors. The caller still owns cmd.ExtraFiles (and closes its copies).
func Start(name string, cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{name: name, cmd: cmd, done: make(chan struct{})}
	p.stdout.init()
	cmd.Stdout = &p.stdout
	cmd.Stderr = &p.stderr
	cmd.SysProcAttr = SysProcAttr()
	cmd.WaitDelay = ioDrainDelay
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("start %s: stdin: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go p.reap()
	return p, nil
}

// reap is the only caller of cmd.Wait, so that Wait, Kill and the rest can
// be used in any order and any number of times.
func (p *Proc) reap() {
	p.waitErr = p.cmd.Wait()
	p.stdout.close()
	close(p.done)
}

// Name is the label given to Start.
func (p *Proc) Name() string { return p.name }

// Pid returns the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the child has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports, without blocking, whether the child has been reaped.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the child to exit. It returns nil for exit status 0, and
// otherwise an error that wraps *exec.ExitError and carries the child's
// stderr.
func (p *Proc) Wait() error {
	<-p.done
	return p.ExitErr()
}

// ExitErr is Wait's result once the child has exited (nil before).
func (p *Proc) ExitErr() error {
	if !p.Exited() || p.waitErr == nil {
		return nil
	}
	return fmt.Errorf("%s (pid %d): %w; stderr:\n%s", p.name, p.Pid(), p.waitErr, p.stderr.String())
}

// ExitCode is the child's exit status once it has exited; -1 before, or
// when a signal ended it.
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Kill sends SIGKILL to the child if it has not exited yet. os.Process
// holds a pidfd where the kernel has them, so a reused pid is never hit.
func (p *Proc) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill() // fails only if it exited meanwhile
	}
}

// Signal sends sig to the child; os.ErrProcessDone once it has exited.
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return os.ErrProcessDone
	}
	return p.cmd.Process.Signal(sig)
}

// ReadLine returns the next line the child printed, without its newline,
// blocking until there is one. Once the child has exited and every line
// has been read it returns an error wrapping io.EOF that carries the
// child's exit status and stderr.
func (p *Proc) ReadLine() (string, error) { return p.NextLine(context.Background()) }

// NextLine is ReadLine that also returns when ctx is done (with ctx's
// error, the line left unread).
func (p *Proc) NextLine(ctx context.Context) (string, error) {
	line, ok, err := p.stdout.next(ctx)
	switch {
	case ok:
		return line, nil
	case err != nil:
		return "", fmt.Errorf("waiting for %s (pid %d): %w", p.name, p.Pid(), err)
	}
	<-p.done // the queue is closed only after reap, so this does not block
	return "", fmt.Errorf("%s (pid %d) exited without another line (%v): %w; stderr:\n%s",
		p.name, p.Pid(), p.waitErr, io.EOF, p.stderr.String())
}

// WriteLine sends s and a newline to the child's stdin.
func (p *Proc) WriteLine(s string) error {
	if _, err := io.WriteString(p.stdin, s+"\n"); err != nil {
		return fmt.Errorf("write to %s (pid %d): %w", p.name, p.Pid(), err)
	}
	return nil
}

// CloseStdin closes the child's stdin, so that it reads EOF.
func (p *Proc) CloseStdin() error {
	if err := p.stdin.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// Stderr returns what the child has written on stderr so far (its last
// 64 KiB).
func (p *Proc) Stderr() string { return p.stderr.String() }
