//go:build linux

package medium

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/internal/shm"
)

// Leftovers: a ringbench killed outright (SIGKILL, the OOM killer) cannot
// remove its rings, and its children die with it (launch's parent-death
// signal). What it leaves in /dev/shm stays until someone removes it: 64
// MiB a run at the default --link-bytes, all of a container's default
// /dev/shm, so that the next run fails for want of space. The next run
// removes them. It goes by the name, which says which process made the
// ring and in which PID namespace (names.go), not by ringstat's verdict:
// in a container's own PID namespace ringstat cannot see every process's
// open files and never calls a ring dead.

// leftoverName matches createNamed's names: the pid, its PID namespace,
// 48 random bits, a tag.
var leftoverName = regexp.MustCompile(`^ringbench-([0-9]+)-([0-9]+)-[0-9a-f]{12}-[A-Za-z0-9-]+$`)

// RemoveLeftovers removes the ring files in dir that ringbench runs died
// without removing, and returns their names. A file goes only when its
// name says a process of this PID namespace made it, that process is gone
// (a pid reused since keeps it: safe, if not tidy), and no role of the
// ring is held while it is removed (ringstat.Remove, which a child that
// has not died yet, or any process that took a role since, keeps it
// with). A run in another PID namespace sharing dir names its rings with
// its own namespace, and they are never touched.
func RemoveLeftovers(dir string) []string {
	if pidNamespace == 0 {
		return nil // no telling whose pids the names hold
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		m := leftoverName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() || m[2] != strconv.FormatUint(pidNamespace, 10) {
			continue
		}
		if pid, err := strconv.ParseUint(m[1], 10, 32); err != nil || int(pid) == os.Getpid() || shm.ProcessAlive(uint32(pid)) {
			continue
		}
		if held, err := ringstat.Remove(filepath.Join(dir, e.Name()), false); err == nil && !held {
			removed = append(removed, e.Name())
		}
	}
	return removed
}
