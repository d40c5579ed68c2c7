package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/shmring/shmring/internal/launch"
)

// Child is a running (or finished) child process started by Start: a
// launch.Proc tied to its test. Its methods may be called from any
// goroutine, except Expect, which may fail the test and so belongs on the
// test's goroutine.
type Child struct {
	*launch.Proc
	t    testing.TB
	role string
	test string // t.Name(), so a Watchdog can find the children of its test
}

// Start runs the test binary again as the child role, with args for the
// child's Args. It fails the test if the child cannot be started. A cleanup
// registered on t kills the child if it is still running when the test ends
// and waits for it, so no child outlives its test.
func Start(t testing.TB, role string, args ...string) *Child {
	t.Helper()
	return start(t, role, Command(t, role, args...))
}

// Command is the command Start runs for role, not started: for a test
// that runs the child under another program (unshare(1), say) by putting
// that program's path and arguments before the command's own and starting
// the result with StartCommand.
func Command(t testing.TB, role string, args ...string) *exec.Cmd {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatalf("proctest.Start(%q): the package's TestMain must call proctest.Main(m)", role)
	}
	// -test.run=^$ is a second line of defence: should the role not be
	// picked up, the child runs no tests rather than all of them.
	argv := append([]string{"-test.run=^$", argsMark}, args...)
	cmd, err := launch.Again([]string{RoleEnv + "=" + role, childGORACE()}, argv...)
	if err != nil {
		t.Fatalf("proctest: child %q: %v", role, err)
	}
	return cmd
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
	p, err := launch.Start(fmt.Sprintf("proctest: child %q", role), cmd)
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	c := &Child{Proc: p, t: t, role: role, test: t.Name()}
	track(c)
	go func() {
		<-p.Done()
		untrack(c)
	}()
	t.Cleanup(func() {
		c.Kill()
		<-c.Done()
		if t.Failed() {
			if s := c.Stderr(); s != "" {
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
