//go:build linux

package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/launch"
)

// TestAChildKilledByASignalIsSaidToBe: a child a signal killed failed
// "(exit status -1)", an exit status it never had; the failure names the
// signal. (From a black-box tester.)
func TestAChildKilledByASignalIsSaidToBe(t *testing.T) {
	proc, err := launch.Start("sleeper", exec.Command("sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Kill()
	watchdog := time.AfterFunc(time.Minute, proc.Kill) // a hang guard, never a time limit
	defer watchdog.Stop()
	proc.Kill()
	<-proc.Done()
	err = (&peer{name: "sleeper", proc: proc}).failure()
	if msg := err.Error(); !strings.Contains(msg, "killed by signal: killed") || strings.Contains(msg, "-1") {
		t.Errorf("failure of a child SIGKILL killed: %q, want it to say \"killed by signal: killed\"", msg)
	}
}
