// Package launch starts child processes that cannot outlive their parent
// and talks to them in lines: the one launcher of ringbench's peers, the
// examples' subscribers and (through internal/proctest) the tests.
//
// A child is usually this program again (Self), told its role and settings
// in the environment, so that no program's or test binary's flags get in
// the way. The parent reads its standard output line by line (ReadLine,
// NextLine), writes lines to its standard input (WriteLine), and keeps the
// last 64 KiB of its standard error for error messages.
//
// On Linux a child gets Pdeathsig SIGKILL: it dies with the parent even if
// that is killed outright (one whose parent died first notices with
// ParentAlive). Pdeathsig fires when the creating OS thread exits, as it
// does under a goroutine that returns with runtime.LockOSThread in force:
// do not start a child from such a goroutine.
//
// When not to use this: for work goroutines can do.
package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Environment variables that make this program a child started by Self.
const (
	RoleEnv   = "SHMRING_CHILD_ROLE"   // the child's role
	ConfigEnv = "SHMRING_CHILD_CONFIG" // its settings, as JSON
	ParentEnv = "SHMRING_CHILD_PARENT" // the parent's pid, for ParentAlive
)

const (
	// ioDrainDelay bounds how long the reaper reads a child's output after
	// it exited: only a grandchild that inherited it could hold it open.
	ioDrainDelay = 5 * time.Second
	stderrKeep   = 64 << 10
)

// Self prepares this program, re-executed, as a child in role with cfg
// (marshalled to JSON in ConfigEnv; nil for none) and args.
func Self(role string, cfg any, args ...string) (*exec.Cmd, error) {
	env := []string{RoleEnv + "=" + role}
	if cfg != nil {
		b, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		env = append(env, ConfigEnv+"="+string(b))
	}
	return Again(env, args...)
}

// Again prepares this program, re-executed, with args and this process's
// environment plus env and ParentEnv (for the child's ParentAlive): what
// Self does, for a caller that tells its child its role in a variable of
// its own (internal/proctest, whose test binaries may run Self's roles
// too).
func Again(env []string, args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable to start a child: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), env...), ParentEnv+"="+strconv.Itoa(os.Getpid()))
	return cmd, nil
}

// Role is the role Self started this process in, if any.
func Role() (string, bool) { return os.LookupEnv(RoleEnv) }

// Config reads the settings Self gave this child into v.
func Config(v any) error {
	if err := json.Unmarshal([]byte(os.Getenv(ConfigEnv)), v); err != nil {
		return fmt.Errorf("%s: %w", ConfigEnv, err)
	}
	return nil
}

// ParentAlive says whether the parent in ParentEnv, if any, is still ours.
func ParentAlive() bool {
	ppid, err := strconv.Atoi(os.Getenv(ParentEnv))
	return err != nil || parentAlive(ppid)
}

// Proc is a started child. Its methods may be called from any goroutine.
type Proc struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  lineQueue
	stderr  tailBuffer
	done    chan struct{} // closed once the child is reaped and its output drained
	waitErr error         // cmd.Wait's result; read only after done is closed
}

// Start starts cmd, setting its Stdin, Stdout, Stderr, SysProcAttr and
// WaitDelay; name labels the child in errors. The caller still owns
// cmd.ExtraFiles (and closes its copies).
func Start(name string, cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{name: name, cmd: cmd, done: make(chan struct{})}
	p.stdout.changed = make(chan struct{})
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

// reap is the only caller of cmd.Wait, so that Wait, Kill and the rest may
// be called in any order, any number of times.
func (p *Proc) reap() {
	p.waitErr = p.cmd.Wait()
	p.stdout.close()
	close(p.done)
}

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

// Wait waits for the child to exit: nil for exit status 0, else an error
// that wraps *exec.ExitError and carries the child's stderr.
func (p *Proc) Wait() error {
	<-p.done
	return p.ExitErr()
}

// ExitErr is Wait's result once the child has exited (nil before).
func (p *Proc) ExitErr() error {
	if !p.Exited() || p.waitErr == nil {
		return nil
	}
	return fmt.Errorf("%s (pid %d): %w%s", p.name, p.Pid(), p.waitErr, p.stderrNote())
}

// stderrNote is what the child wrote on stderr, for an error: "" when it
// wrote nothing (an error that ends in an empty "stderr:" reads as cut off).
func (p *Proc) stderrNote() string {
	s := strings.TrimRight(p.stderr.String(), "\n")
	if s == "" {
		return ""
	}
	return "; stderr:\n" + s
}

// ExitCode is the child's exit status; -1 before it exited or after a signal.
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Status says how the child ended, for a message: "exit status 1", or
// "killed by signal: killed" (ExitCode says -1 for that); "" before it
// exited.
func (p *Proc) Status() string {
	if !p.Exited() {
		return ""
	}
	st := p.cmd.ProcessState
	if ws, ok := st.Sys().(interface {
		Signaled() bool
		Signal() syscall.Signal
	}); ok && ws.Signaled() {
		return "killed by signal: " + ws.Signal().String()
	}
	return st.String()
}

// Kill sends SIGKILL to the child if it has not exited yet. os.Process
// holds a pidfd where the kernel has them, so a reused pid is never hit.
func (p *Proc) Kill() { _ = p.Signal(os.Kill) } // fails only once it exited

// Signal sends sig to the child; os.ErrProcessDone once it has exited.
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return os.ErrProcessDone
	}
	return p.cmd.Process.Signal(sig)
}

// ReadLine returns the child's next line, without its newline, blocking
// until there is one; once the child exited and every line was read, an
// error wrapping io.EOF with the child's exit status and stderr.
func (p *Proc) ReadLine() (string, error) { return p.NextLine(context.Background()) }

// NextLine is ReadLine that also returns ctx's error when ctx is done.
func (p *Proc) NextLine(ctx context.Context) (string, error) {
	line, ok, err := p.stdout.next(ctx)
	switch {
	case ok:
		return line, nil
	case err != nil:
		return "", fmt.Errorf("waiting for %s (pid %d): %w", p.name, p.Pid(), err)
	}
	<-p.done // the queue is closed only after reap, so this does not block
	return "", fmt.Errorf("%s (pid %d) exited without another line (%v): %w%s",
		p.name, p.Pid(), p.waitErr, io.EOF, p.stderrNote())
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

// Stderr is the last 64 KiB the child wrote on stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// lineQueue is the child's stdout as an unbounded queue of lines: os/exec's
// copying goroutine never blocks on a parent not reading. changed is closed
// and replaced at each line and at close, to wait for beside a context.
type lineQueue struct {
	mu      sync.Mutex
	changed chan struct{}
	partial []byte   // bytes after the last newline
	lines   []string // complete lines not yet read
	closed  bool
}

// wake tells waiting readers; q.mu is held.
func (q *lineQueue) wake() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *lineQueue) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.partial = append(q.partial, p...)
	for i := bytes.IndexByte(q.partial, '\n'); i >= 0; i = bytes.IndexByte(q.partial, '\n') {
		q.lines = append(q.lines, string(bytes.TrimSuffix(q.partial[:i], []byte("\r"))))
		q.partial = q.partial[i+1:]
	}
	q.wake()
	return len(p), nil
}

// close ends the queue; an unterminated last line still counts as a line.
func (q *lineQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.partial) > 0 {
		q.lines = append(q.lines, string(q.partial))
		q.partial = nil
	}
	q.closed = true
	q.wake()
}

// next blocks until a line is there (true), the queue is closed and empty
// (false), or ctx is done (false, ctx's error).
func (q *lineQueue) next(ctx context.Context) (string, bool, error) {
	for {
		q.mu.Lock()
		if len(q.lines) > 0 {
			line := q.lines[0]
			q.lines = q.lines[1:]
			q.mu.Unlock()
			return line, true, nil
		}
		closed, changed := q.closed, q.changed
		q.mu.Unlock()
		if closed {
			return "", false, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
}

// tailBuffer keeps the last stderrKeep bytes written to it: the end of a
// panic explains it, and a runaway child must not eat the parent's memory.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - stderrKeep; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
