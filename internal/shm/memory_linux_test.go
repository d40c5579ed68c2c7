package shm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestMemoryLeftIsTheLeastOfTheMachineAndEveryCgroupAbove: MemAvailable,
// and memory.max less memory.current of the process's cgroup and each
// cgroup above it, whichever leaves least; a cgroup without a limit
// ("max") or without the files bounds nothing.
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
	write("meminfo", "MemTotal:       2000 kB\nMemFree:         100 kB\nMemAvailable:    1000 kB\n")
	write("cgroup", "0::/a/b/c\n")
	write("root/a/memory.max", "600000\n")
	write("root/a/memory.current", "100000\n")
	write("root/a/b/memory.max", "max\n")
	write("root/a/b/memory.current", "50\n")
	meminfo, cgroup, root := filepath.Join(dir, "meminfo"), filepath.Join(dir, "cgroup"), filepath.Join(dir, "root")

	if left, what, ok := memoryLeft(meminfo, cgroup, root); !ok || left != 500000 || what != "memory cgroup /a" {
		t.Errorf("memoryLeft = %d (%s) %v, want 500000 bytes left under memory cgroup /a", left, what, ok)
	}
	write("root/a/memory.current", "700000\n") // over its limit: nothing left
	if left, _, ok := memoryLeft(meminfo, cgroup, root); !ok || left != 0 {
		t.Errorf("memoryLeft with a cgroup over its limit = %d %v, want 0", left, ok)
	}
	if left, what, ok := memoryLeft(meminfo, filepath.Join(dir, "none"), root); !ok || left != 1000<<10 || what != "the machine (MemAvailable)" {
		t.Errorf("memoryLeft with no cgroup = %d (%s) %v, want MemAvailable, 1000 KiB", left, what, ok)
	}
	if _, _, ok := memoryLeft(filepath.Join(dir, "none"), filepath.Join(dir, "none"), root); ok {
		t.Error("memoryLeft with nothing to read says it knows")
	}
}

// TestCreateMemfdBeyondTheMemoryLeftIsErrNoSpace: a memfd counts against no
// file system's size, so without the check a ring larger than the machine's
// memory is allocated until the out-of-memory killer ends a process.
func TestCreateMemfdBeyondTheMemoryLeftIsErrNoSpace(t *testing.T) {
	left, what, ok := memoryLeft("/proc/meminfo", "/proc/self/cgroup", "/sys/fs/cgroup")
	if !ok {
		t.Skip("this machine says nowhere how much memory is left (no /proc/meminfo MemAvailable, no cgroup v2 limit)")
	}
	size := 4*left + 1<<30
	if _, err := CreateMemfd("too-big", Spec{Size: size, Perm: 0o600}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a memfd of %d bytes with %d left (%s) = %v, want ErrNoSpace", size, left, what, err)
	}
}
