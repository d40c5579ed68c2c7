package shm

// How much memory a new ring file may take.
//
// A ring's file on tmpfs or in a memfd lives in memory, and Create
// allocates every page of it. Each page is charged to the memory cgroup of
// the process that allocates it. Allocating past what the machine or the
// cgroup has left ends with the out-of-memory killer (this process, or
// another one), not an error: a memfd counts against no file system's size,
// and a container's /dev/shm may be larger than its memory limit. So Create
// refuses, with ErrNoSpace, a file in memory larger than what is left: on
// the machine, MemAvailable plus SwapFree (proc(5): /proc/meminfo); in the
// cgroup this process is in and in every one above it (the kernel's cgroup
// v2 documentation), memory.max less memory.current, plus the page cache it
// could reclaim (memory.stat's active_file and inactive_file), plus its swap
// room (memory.swap.max less memory.swap.current). Where none can be read
// (cgroup v1 limits are not read), nothing is refused here. Huge pages come
// from their own pool, which refuses with ENOSPC by itself, and a file on a
// disk file system is page cache, which the kernel can write back.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// checkRoom refuses, with ErrNoSpace, size bytes more of f, if f lives in
// memory (tmpfs, a memfd) and this process could not allocate them without
// the out-of-memory killer.
func checkRoom(f *os.File, size uint64) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || uint32(st.Type) != unix.TMPFS_MAGIC {
		return nil
	}
	left, what, ok := MemoryLeft()
	if ok && size > left {
		return fmt.Errorf("%w: ring file size=%d, memory left=%d (%s): allocating it would end with the out-of-memory killer",
			ErrNoSpace, size, left, what)
	}
	return nil
}

// MemoryLeft is how many bytes a new file in memory could take here, and
// what bounds it; ok is false when nothing says.
func MemoryLeft() (left uint64, what string, ok bool) {
	return memoryLeft("/proc/meminfo", "/proc/self/cgroup", "/sys/fs/cgroup")
}

// memoryLeft is the least of what the machine has left (from the meminfo
// file) and what the cgroup named in the cgroup file and every cgroup
// above it (under the cgroup2 mount root) have, with what set it; ok is
// false when none could be read.
func memoryLeft(meminfo, cgroup, root string) (left uint64, what string, ok bool) {
	consider := func(v uint64, w string) {
		if !ok || v < left {
			left, what, ok = v, w, true
		}
	}
	info := readMeminfo(meminfo)
	avail, found := info["MemAvailable"]
	if found {
		consider(avail+info["SwapFree"], "the machine: MemAvailable and SwapFree")
	}
	if dir, found := cgroupDir(cgroup); found {
		for d := dir; ; d = path.Dir(d) {
			if v, found := cgroupRoom(root+d, info["SwapFree"]); found {
				consider(v, "memory cgroup "+d)
			}
			if d == "/" {
				break
			}
		}
	}
	return left, what, ok
}

// readMeminfo reads a meminfo file's "Name: N kB" lines, in bytes.
func readMeminfo(file string) map[string]uint64 {
	m := map[string]uint64{}
	b, err := os.ReadFile(file)
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[2] != "kB" || !strings.HasSuffix(f[0], ":") {
			continue
		}
		if kb, err := strconv.ParseUint(f[1], 10, 64); err == nil && kb < 1<<53 {
			m[strings.TrimSuffix(f[0], ":")] = kb << 10
		}
	}
	return m
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

// cgroupRoom is what a cgroup's directory says its processes may still
// allocate: memory.max less memory.current, plus its reclaimable page
// cache, plus its swap room (machineSwap where its swap is unlimited); not
// found where the cgroup has no memory limit ("max") or the files are not
// there.
func cgroupRoom(dir string, machineSwap uint64) (uint64, bool) {
	limit, ok1 := readUint(dir + "/memory.max")
	used, ok2 := readUint(dir + "/memory.current")
	if !ok1 || !ok2 {
		return 0, false
	}
	room := limit - min(used, limit) + min(pageCache(dir+"/memory.stat"), used)
	if b, err := os.ReadFile(dir + "/memory.swap.max"); err == nil && strings.TrimSpace(string(b)) == "max" {
		room += machineSwap
	} else if swapMax, ok := readUint(dir + "/memory.swap.max"); ok {
		swapUsed, _ := readUint(dir + "/memory.swap.current")
		room += swapMax - min(swapUsed, swapMax)
	}
	return room, true
}

// pageCache is a memory.stat file's active_file plus inactive_file: the
// page cache charged to the cgroup, which the kernel reclaims before it
// kills.
func pageCache(file string) uint64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	var sum uint64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && (f[0] == "active_file" || f[0] == "inactive_file") {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil && v < 1<<62 {
				sum += v
			}
		}
	}
	return sum
}

func readUint(file string) (uint64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil && v < 1<<62
}
