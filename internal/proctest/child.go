package proctest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ioDrainDelay bounds how long Wait keeps reading the child's stdout and
// stderr after it exited: only a grandchild that inherited them could hold
// them open, and the test must not hang on it.
const ioDrainDelay = 5 * time.Second

// Child is a running (or finished) child process started by Start. Its
// methods may be called from any goroutine, except Expect, which may fail
// the test and so belongs on the test's goroutine.
type Child struct {
	t     testing.TB
	role  string
	test  string // t.Name(), so a Watchdog can find the children of its test
	cmd   *exec.Cmd
	stdin io.WriteCloser

	stdout lineQueue
	stderr tailBuffer

	done    chan struct{} // closed once the child is reaped and its output drained
	waitErr error         // cmd.Wait's result; read only after done is closed
}

// Start runs the test binary again as the child role, with args for the
// child's Args. It fails the test if the child cannot be started. A cleanup
// registered on t kills the child if it is still running when the test ends
// and waits for it, so no child outlives its test.
func Start(t testing.TB, role string, args ...string) *Child {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatalf("proctest.Start(%q): the package's TestMain must call proctest.Main(m)", role)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	// -test.run=^$ is a second line of defence: should the role not be
	// picked up, the child runs no tests rather than all of them.
	argv := append([]string{"-test.run=^$", argsMark}, args...)
	cmd := exec.Command(exe, argv...)
	cmd.Env = append(os.Environ(), RoleEnv+"="+role, parentEnv+"="+strconv.Itoa(os.Getpid()))
	cmd.Env = append(cmd.Env, childGORACE())
	return start(t, role, cmd)
}

// StartCommand runs another program as a child, with the same guarantees
// as Start (killed with its test, with its parent, and by a Watchdog) and
// the same line protocol on its stdin and stdout: the other-language peers
// of a cross-language test. cmd must not have been started; its Stdin,
// Stdout, Stderr and SysProcAttr are set here. name labels the child in
// failures.
func StartCommand(t testing.TB, name string, cmd *exec.Cmd) *Child {
	t.Helper()
	return start(t, name, cmd)
}

func start(t testing.TB, role string, cmd *exec.Cmd) *Child {
	t.Helper()
	c := &Child{t: t, role: role, test: t.Name(), done: make(chan struct{}), cmd: cmd}
	c.stdout.init()
	c.cmd.Stdout = &c.stdout
	c.cmd.Stderr = &c.stderr
	c.cmd.SysProcAttr = sysProcAttr()
	c.cmd.WaitDelay = ioDrainDelay
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatalf("proctest: start %q: stdin: %v", role, err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("proctest: start %q: %v", role, err)
	}
	track(c)
	go c.reap()
	t.Cleanup(func() {
		c.Kill()
		<-c.done
		if t.Failed() {
			if s := c.stderr.String(); s != "" {
				t.Logf("child %q (pid %d) stderr:\n%s", c.role, c.Pid(), s)
			}
		}
	})
	return c
}

// childGORACE keeps a child built with -race from sleeping a second at
// exit (the race runtime's atexit_sleep_ms, there for reports from threads
// still running, which a child that returned from its role has no more
// of): with a dozen children a test would otherwise wait seconds for
// nothing. A setting the user made wins.
func childGORACE() string {
	g := os.Getenv("GORACE")
	if strings.Contains(g, "atexit_sleep_ms") {
		return "GORACE=" + g
	}
	return "GORACE=" + strings.TrimSpace(g+" atexit_sleep_ms=0")
}

// reap is the only caller of cmd.Wait, so that Wait, Kill and the cleanup
// can all be used in any order and any number of times.
func (c *Child) reap() {
	err := c.cmd.Wait()
	c.waitErr = err
	untrack(c)
	c.stdout.close()
	close(c.done)
}

// Pid returns the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Wait waits for the child to exit. It returns nil for exit status 0, and
// otherwise an error that wraps *exec.ExitError and carries the child's
// stderr. It may be called more than once.
func (c *Child) Wait() error {
	<-c.done
	return c.exitErr()
}

// Exited reports, without blocking, whether the child has exited and been
// reaped.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *Child) exitErr() error {
	if c.waitErr == nil {
		return nil
	}
	return fmt.Errorf("proctest: child %q (pid %d): %w; stderr:\n%s", c.role, c.Pid(), c.waitErr, c.stderr.String())
}

// Kill sends SIGKILL to the child if it has not exited yet. Wait then
// reports the kill.
func (c *Child) Kill() {
	if c.Exited() {
		return
	}
	// ErrProcessDone only means it exited meanwhile; os.Process holds a
	// pidfd where the kernel has them, so a reused pid is never hit.
	_ = c.cmd.Process.Kill()
}

// Signal sends sig to the child. Sending to a child that has already exited
// returns os.ErrProcessDone.
func (c *Child) Signal(sig os.Signal) error {
	if c.Exited() {
		return os.ErrProcessDone
	}
	return c.cmd.Process.Signal(sig)
}

// ReadLine returns the next line the child printed on stdout, without its
// newline, blocking until there is one. Once the child has exited and every
// line has been read it returns an error wrapping io.EOF that carries the
// child's exit status and stderr. It has no timeout of its own: a test that
// could hang here arms a Watchdog, which kills the child and so ends the
// wait.
func (c *Child) ReadLine() (string, error) {
	line, ok := c.stdout.next()
	if ok {
		return line, nil
	}
	<-c.done // the queue is closed only after reap, so this does not block
	return "", fmt.Errorf("proctest: child %q (pid %d) exited without another line (%v): %w; stderr:\n%s",
		c.role, c.Pid(), c.waitErr, io.EOF, c.stderr.String())
}

// Expect reads the next stdout line and fails the test unless it is want:
// the parent's half of a handshake such as "ready". Call it from the test's
// goroutine.
func (c *Child) Expect(want string) {
	c.t.Helper()
	got, err := c.ReadLine()
	if err != nil {
		c.t.Fatalf("waiting for %q: %v", want, err)
	}
	if got != want {
		c.t.Fatalf("child %q said %q, want %q", c.role, got, want)
	}
}

// WriteLine sends s and a newline to the child's stdin.
func (c *Child) WriteLine(s string) error {
	if _, err := io.WriteString(c.stdin, s+"\n"); err != nil {
		return fmt.Errorf("proctest: write to child %q (pid %d): %w", c.role, c.Pid(), err)
	}
	return nil
}

// CloseStdin closes the child's stdin, so that it reads EOF.
func (c *Child) CloseStdin() error {
	if err := c.stdin.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// Stderr returns what the child has written on stderr so far (its last
// stderrKeep bytes).
func (c *Child) Stderr() string { return c.stderr.String() }

// live holds the children not yet reaped, so a Watchdog can kill those of
// its test.
var (
	liveMu sync.Mutex
	live   = map[*Child]struct{}{}
)

func track(c *Child) {
	liveMu.Lock()
	live[c] = struct{}{}
	liveMu.Unlock()
}

func untrack(c *Child) {
	liveMu.Lock()
	delete(live, c)
	liveMu.Unlock()
}

// killChildren kills the live children started by test name or one of its
// subtests (name "" means all) and returns how many it signalled.
func killChildren(name string) int {
	liveMu.Lock()
	defer liveMu.Unlock()
	n := 0
	for c := range live {
		if name == "" || c.test == name || len(c.test) > len(name) && c.test[:len(name)+1] == name+"/" {
			c.Kill()
			n++
		}
	}
	return n
}
