package proctest

import (
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchdogBound is a hang guard only: every test here takes milliseconds.
const watchdogBound = 2 * time.Minute

func TestChildExitStatus(t *testing.T) {
	Watchdog(t, watchdogBound)
	tests := []struct {
		name     string
		code     string
		wantErr  bool
		wantCode int
	}{
		{"a child that returns 0 makes Wait return nil", "0", false, 0},
		{"a child that returns 1 makes Wait return its exit status and stderr", "1", true, 1},
		{"a child that returns 7 makes Wait return its exit status and stderr", "7", true, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Start(t, "exit", tt.code).Wait()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Wait() = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.wantCode {
				t.Errorf("Wait() = %v, want an *exec.ExitError with code %d", err, tt.wantCode)
			}
			if !strings.Contains(err.Error(), "exiting with "+tt.code+" on purpose") {
				t.Errorf("Wait() = %q, want it to carry the child's stderr", err)
			}
		})
	}
}

func TestArgumentsArriveIntact(t *testing.T) {
	Watchdog(t, watchdogBound)
	args := []string{"plain", "with space", "-test.v", "--", "ünïcödé", "=x"}
	c := Start(t, "echo-args", args...)
	for _, want := range args {
		c.Expect(want)
	}
	if line, err := c.ReadLine(); !errors.Is(err, io.EOF) {
		t.Errorf("ReadLine() after the last argument = %q, %v; want io.EOF", line, err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestUnterminatedLastLineIsStillALine(t *testing.T) {
	Watchdog(t, watchdogBound)
	c := Start(t, "no-newline")
	c.Expect("first")
	c.Expect("second")
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestTwoWayHandshake(t *testing.T) {
	Watchdog(t, watchdogBound)
	c := Start(t, "shout")
	for _, w := range []string{"ping", "pong"} {
		if err := c.WriteLine(w); err != nil {
			t.Fatal(err)
		}
		c.Expect(strings.ToUpper(w))
	}
	if err := c.WriteLine("bye"); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestKillEndsAHangingChild(t *testing.T) {
	Watchdog(t, watchdogBound)
	c := Start(t, "hang")
	c.Expect("ready")
	if c.Exited() {
		t.Fatal("Exited() = true before the kill")
	}
	c.Kill()
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Exited() {
		t.Fatalf("Wait() after Kill = %v, want death by signal", err)
	}
	c.Kill() // harmless once reaped
	if err := c.Signal(nil); err == nil {
		t.Error("Signal after exit = nil, want os.ErrProcessDone")
	}
}

func TestCleanupKillsAChildLeftRunning(t *testing.T) {
	var c *Child
	t.Run("a subtest that forgets its child", func(t *testing.T) {
		Watchdog(t, watchdogBound)
		c = Start(t, "hang")
		c.Expect("ready")
	})
	if !c.Exited() {
		t.Fatal("the child still runs after its test ended")
	}
}

func TestUnknownRoleFailsTheChild(t *testing.T) {
	Watchdog(t, watchdogBound)
	err := Start(t, "no-such-role").Wait()
	if err == nil || !strings.Contains(err.Error(), `no role "no-such-role"`) {
		t.Fatalf("Wait() = %v, want the unknown-role complaint", err)
	}
}

// fakeTB records Errorf and holds cleanups back, so the test can watch a
// watchdog fire on it without failing itself.
type fakeTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	errs     []string
	fired    chan struct{}
	cleanups []func()
}

func (f *fakeTB) Name() string { return f.name }
func (f *fakeTB) Helper()      {}
func (f *fakeTB) Failed() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.errs) > 0 }
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, format)
	if len(f.errs) == 1 {
		close(f.fired)
	}
}

func (f *fakeTB) runCleanups() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func TestWatchdogFailsTheTestAndKillsItsChildren(t *testing.T) {
	Watchdog(t, watchdogBound)
	fake := &fakeTB{TB: t, name: t.Name() + "/fake", fired: make(chan struct{})}
	defer fake.runCleanups()
	c := Start(fake, "hang")
	bystander := Start(t, "hang") // another test's child: must survive
	c.Expect("ready")
	bystander.Expect("ready")

	Watchdog(fake, time.Millisecond)
	<-fake.fired // bounded by the real watchdog above

	if err := c.Wait(); err == nil {
		t.Error("the fake test's child exited cleanly, want it killed by the watchdog")
	}
	if bystander.Exited() {
		t.Error("the watchdog killed a child of another test")
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.errs) != 1 || !strings.Contains(fake.errs[0], "watchdog") {
		t.Errorf("errors = %q, want one watchdog report", fake.errs)
	}
}
