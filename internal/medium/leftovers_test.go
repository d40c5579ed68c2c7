//go:build linux

package medium

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/ring"
)

// deadPid is the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no /bin/true to make a dead pid: %v", err)
	}
	return cmd.ProcessState.Pid()
}

// TestRemoveLeftoversKeepsWhatAnyoneMayStillUse: of the rings named as a
// dead ringbench of this PID namespace names them, one whose role is held
// stays until the role is let go; one named in another namespace (a run
// in another container sharing /dev/shm, whose pid means nothing here)
// stays for good; the ring of a live process stays.
func TestRemoveLeftoversKeepsWhatAnyoneMayStillUse(t *testing.T) {
	if pidNamespace == 0 {
		t.Skip("no /proc/self/ns/pid: RemoveLeftovers removes nothing where it cannot tell whose pids a name holds")
	}
	dead := deadPid(t)
	create := func(name string) *ring.Ring {
		t.Helper()
		r, err := ring.Create(name, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); ring.Remove(name) })
		return r
	}
	held := fmt.Sprintf("ringbench-%d-%d-0123456789ab-held", dead, pidNamespace)
	foreign := fmt.Sprintf("ringbench-%d-%d-0123456789ab-foreign", dead, pidNamespace+1)
	live := fmt.Sprintf("ringbench-%d-%d-0123456789ab-live", os.Getppid(), pidNamespace)
	p, err := create(held).Producer()
	if err != nil {
		t.Fatal(err)
	}
	create(foreign)
	create(live)

	kept := func(names ...string) {
		t.Helper()
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(ringstat.ShmDir, n)); err != nil {
				t.Errorf("%s was removed (%v), want it kept", n, err)
			}
		}
	}
	if got := RemoveLeftovers(ringstat.ShmDir); slices.ContainsFunc(got, func(n string) bool { return n == held || n == foreign || n == live }) {
		t.Errorf("RemoveLeftovers removed %v", got)
	}
	kept(held, foreign, live)

	p.Close() // the role let go: a leftover like any other now
	if got := RemoveLeftovers(ringstat.ShmDir); !slices.Contains(got, held) {
		t.Errorf("RemoveLeftovers = %v once its role was let go, want %s among them", got, held)
	}
	if _, err := os.Stat(filepath.Join(ringstat.ShmDir, held)); !os.IsNotExist(err) {
		t.Errorf("%s still there (%v)", held, err)
	}
	kept(foreign, live)
}
