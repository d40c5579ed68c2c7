//go:build linux

package medium

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/internal/shm"
)

// Leftovers: a ringbench killed outright (SIGKILL, the OOM killer) cannot
// remove its rings, and its children die with it (launch's parent-death
// signal). What it leaves in /dev/shm stays until someone removes it: 64
// MiB a run at the default --link-bytes, all of a container's default
// /dev/shm, so that the next run fails for want of space. The next run
// removes them, going by what ringctl gc goes by (package ringstat), and
// by the name first: only names createNamed makes, whose pid is no process
// here.

// leftoverName matches createNamed's names: the pid, 48 random bits, a tag.
var leftoverName = regexp.MustCompile(`^ringbench-([0-9]+)-[0-9a-f]{12}-[A-Za-z0-9-]+$`)

// RemoveLeftovers removes the ring files in dir that ringbench runs died
// without removing and returns their names. A file goes only when its
// name's pid is no live process, ringstat judges the ring dead (no live
// holder of any role, its creator gone, nobody else with it open where
// that can be seen) and no role is taken while it is removed
// (ringstat.Remove): a run in another PID namespace sharing dir still
// holds its roles, or has its file open, and keeps it.
func RemoveLeftovers(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		m := leftoverName.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		if pid, err := strconv.Atoi(m[1]); err != nil || pid == os.Getpid() || processExists(pid) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if s, err := ringstat.ReadPath(e.Name(), path); err != nil || s.State != ringstat.Dead {
			continue
		}
		if held, err := ringstat.Remove(path, false); err == nil && !held {
			removed = append(removed, e.Name())
		}
	}
	return removed
}

// processExists: kill(pid, 0) finds a process, or one this user may not
// signal (EPERM: it exists too).
func processExists(pid int) bool {
	return !errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}

// ShmDir is where the rings of ringbench's transports are made.
const ShmDir = shm.Dir
