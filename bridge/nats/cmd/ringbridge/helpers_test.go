package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// watchdog bounds each test: a hang guard, never a time limit.
const watchdog = 3 * time.Minute

var ringCount atomic.Int64

// newRing creates a ring named for this process and removes it when the
// test ends.
func newRing(t testing.TB, o ring.Options) string {
	t.Helper()
	name := fmt.Sprintf("shmring-test-ringbridge-%d-%d", os.Getpid(), ringCount.Add(1))
	r, err := ring.Create(name, o)
	if err != nil {
		t.Fatalf("create ring: %v", err)
	}
	r.Close()
	t.Cleanup(func() { ring.Remove(name) })
	return name
}

// bridge starts ringbridge with args in a child process and waits for its
// "ready".
func bridge(t testing.TB, args ...string) *proctest.Child {
	t.Helper()
	c := proctest.Start(t, "ringbridge", append(args, "--progress=0")...)
	line, err := c.ReadLine()
	if err != nil || line != "ready" {
		t.Fatalf("ringbridge %s: said %q, not ready: %v", strings.Join(args, " "), line, err)
	}
	return c
}

// stop sends SIGTERM to a bridge and fails the test unless it exits 0.
func stop(t *testing.T, c *proctest.Child) {
	t.Helper()
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("bridge stopped by SIGTERM: %v", err)
	}
}

// expectLine reads the child's next stdout line and fails unless it is
// want.
func expectLine(t *testing.T, c *proctest.Child, want string) {
	t.Helper()
	got, err := c.ReadLine()
	if err != nil {
		t.Fatalf("waiting for %q: %v", want, err)
	}
	if got != want {
		t.Fatalf("child said %q, want %q", got, want)
	}
}

// readUntil reads the child's stdout lines until one is want (progress
// lines before it are skipped).
func readUntil(t *testing.T, c *proctest.Child, want string) {
	t.Helper()
	for {
		got, err := c.ReadLine()
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if got == want {
			return
		}
	}
}

func mustExit0(t *testing.T, c *proctest.Child, what string) {
	t.Helper()
	if err := c.Wait(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
