package shm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestMemoryLeftIsTheLeastOfTheMachineAndEveryCgroupAbove: the machine's
// MemAvailable and SwapFree, and for the process's cgroup and each one above
// it memory.max less memory.current plus its page cache and swap room,
// whichever leaves least; a cgroup without a limit ("max") or without the
// files bounds nothing.
func TestMemoryLeftIsTheLeastOfTheMachineAndEveryCgroupAbove(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("meminfo", "MemTotal:       2000 kB\nMemFree:         100 kB\nMemAvailable:    1000 kB\nSwapFree:         24 kB\n")
	write("cgroup", "0::/a/b/c\n")
	write("root/a/memory.max", "600000\n")
	write("root/a/memory.current", "100000\n")
	write("root/a/b/memory.max", "max\n")
	write("root/a/b/memory.current", "50\n")
	meminfo, cgroup, root := filepath.Join(dir, "meminfo"), filepath.Join(dir, "cgroup"), filepath.Join(dir, "root")
	check := func(what string, want uint64, wantBy string) {
		t.Helper()
		if left, by, ok := memoryLeft(meminfo, cgroup, root); !ok || left != want || by != wantBy {
			t.Errorf("%s: memoryLeft = %d (%s) %v, want %d (%s)", what, left, by, ok, want, wantBy)
		}
	}
	check("a cgroup limit", 500000, "memory cgroup /a")
	write("root/a/memory.stat", "anon 40000\nactive_file 30000\ninactive_file 20000\nshmem 0\n")
	check("page cache it can reclaim", 550000, "memory cgroup /a")
	write("root/a/memory.swap.max", "10000\n")
	write("root/a/memory.swap.current", "4000\n")
	check("and swap room", 556000, "memory cgroup /a")
	write("root/a/memory.current", "700000\n") // over its limit, all of it page cache: the cache is all
	check("a cgroup over its limit", 56000, "memory cgroup /a")
	write("root/a/memory.max", "max\n")
	check("no cgroup limit", 1024<<10, "the machine: MemAvailable and SwapFree")
	if _, _, ok := memoryLeft(filepath.Join(dir, "none"), filepath.Join(dir, "none"), root); ok {
		t.Error("memoryLeft with nothing to read says it knows")
	}
}

// TestCreateMemfdBeyondTheMemoryLeftIsErrNoSpace: a memfd counts against no
// file system's size, so without the check a ring larger than the machine's
// memory is allocated until the out-of-memory killer ends a process.
func TestCreateMemfdBeyondTheMemoryLeftIsErrNoSpace(t *testing.T) {
	left, what, ok := MemoryLeft()
	if !ok {
		t.Skip("this machine says nowhere how much memory is left (no /proc/meminfo MemAvailable, no cgroup v2 limit)")
	}
	size := 4*left + 1<<30
	if _, err := CreateMemfd("too-big", Spec{Size: size, Perm: 0o600}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a memfd of %d bytes with %d left (%s) = %v, want ErrNoSpace", size, left, what, err)
	}
}
