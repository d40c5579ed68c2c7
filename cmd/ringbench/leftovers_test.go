//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/ringstat"
)

// TestARunRemovesTheRingsOfARunKilledOutright: a ringbench killed with
// SIGKILL leaves its ring in /dev/shm (up to 64 MiB, all of a container's
// default /dev/shm); the next run removes it, and saying so, but never the
// ring of a run still going (a black-box tester's 8 MiB leftover stayed
// until ringctl gc).
func TestARunRemovesTheRingsOfARunKilledOutright(t *testing.T) {
	args := []string{"run", "--transports=shmring", "--workloads=throughput", "--size=64",
		"--duration=10m", "--warmup=1ms", "--reps=1", "--fingerprint=false"}
	cmd, err := launch.Self(roleCLI, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := launch.Start("ringbench run", cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	watchdog := time.AfterFunc(2*time.Minute, p.Kill) // a hang guard, never a time limit
	defer watchdog.Stop()
	pattern := filepath.Join(ringstat.ShmDir, fmt.Sprintf("ringbench-%d-*", p.Pid()))
	t.Cleanup(func() { // whatever happens, nothing stays behind
		left, _ := filepath.Glob(pattern)
		for _, f := range left {
			os.Remove(f)
		}
	})
	var rings []string
	eventually(t, p, func() bool {
		rings, _ = filepath.Glob(pattern)
		return len(rings) > 0 && strings.Contains(p.Stderr(), "shmring")
	})

	var out bytes.Buffer
	removeLeftovers(&out)
	for _, f := range rings {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the ring of a run still going was removed (%v); said: %q", err, out.String())
		}
	}

	p.Kill()
	<-p.Done()
	// Its children die of the parent's death (launch's Pdeathsig); until
	// they have, they hold the ring's roles and it stays.
	eventually(t, nil, func() bool {
		removeLeftovers(&out)
		left, _ := filepath.Glob(pattern)
		return len(left) == 0
	})
	for _, f := range rings {
		if !strings.Contains(out.String(), filepath.Base(f)) {
			t.Errorf("removed %s without saying so; said: %q", f, out.String())
		}
	}
}
