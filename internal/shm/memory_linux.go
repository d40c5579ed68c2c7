package shm

// How much memory a new ring file may take.
//
// A ring's file lives in memory (tmpfs, a memfd) and Create allocates every
// page of it. Each page is charged to the memory cgroup of the process that
// allocates it. Allocating past what the machine or the cgroup has left ends
// with the out-of-memory killer (this process, or another one), not an
// error: a memfd counts against no file system's size, and a container's
// /dev/shm may be larger than its memory limit. So Create refuses, with
// ErrNoSpace, a file larger than the memory available: MemAvailable in
// /proc/meminfo, and for the cgroup this process is in and every one above
// it, memory.max less memory.current (cgroup v2). Where none can be read,
// nothing is refused here. Huge pages come from their own pool, which
// refuses with ENOSPC by itself.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
)

// checkRoom refuses, with ErrNoSpace, a file of size bytes in memory that
// this process could not allocate without the out-of-memory killer.
func checkRoom(size uint64) error {
	avail, why, ok := memoryLeft("/proc/meminfo", "/proc/self/cgroup", "/sys/fs/cgroup")
	if ok && size > avail {
		return fmt.Errorf("%w: a ring file of %d bytes, and %s has %d bytes left: allocating it would end with the out-of-memory killer", ErrNoSpace, size, why, avail)
	}
	return nil
}

// memoryLeft is the least of MemAvailable (from the meminfo file) and the
// room left under the cgroup v2 limits of the cgroup named in the cgroup
// file and every cgroup above it (under the cgroup2 mount root), with what
// set it; ok is false when none could be read.
func memoryLeft(meminfo, cgroup, root string) (left uint64, what string, ok bool) {
	consider := func(v uint64, w string) {
		if !ok || v < left {
			left, what, ok = v, w, true
		}
	}
	if v, found := memAvailable(meminfo); found {
		consider(v, "the machine (MemAvailable)")
	}
	if dir, found := cgroupDir(cgroup); found {
		for d := dir; ; d = path.Dir(d) {
			if v, found := cgroupRoom(root + d); found {
				consider(v, "memory cgroup "+d)
			}
			if d == "/" {
				break
			}
		}
	}
	return left, what, ok
}

// memAvailable reads MemAvailable, in bytes, from a meminfo file.
func memAvailable(file string) (uint64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemAvailable:" && f[2] == "kB" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			return kb << 10, err == nil && kb < 1<<54
		}
	}
	return 0, false
}

// cgroupDir is this process's cgroup v2 path ("0::/path" in
// /proc/self/cgroup).
func cgroupDir(file string) (string, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, found := strings.CutPrefix(l, "0::"); found && strings.HasPrefix(p, "/") {
			return path.Clean(p), true
		}
	}
	return "", false
}

// cgroupRoom is memory.max less memory.current in a cgroup's directory;
// not found where the cgroup has no limit ("max") or the files are not
// there.
func cgroupRoom(dir string) (uint64, bool) {
	limit, ok1 := readUint(dir + "/memory.max")
	used, ok2 := readUint(dir + "/memory.current")
	if !ok1 || !ok2 {
		return 0, false
	}
	return limit - min(used, limit), true
}

func readUint(file string) (uint64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}
