package futex_test

import (
	"fmt"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test mapping: each word the tests use on its own 128-byte unit, as the
// ring lays out its counters.
const (
	pingOffset        = 0   // parent → child value
	pingWaitersOffset = 128 // the child announces itself asleep on ping here
	pongOffset        = 256 // child → parent value
	pongWaitersOffset = 384 // the parent announces itself asleep on pong here
	mappingSize       = 4096
)

// words are the futex words of a test mapping.
type words struct {
	ping, pingWaiters, pong, pongWaiters *uint32
}

func wordsOf(mem []byte) words {
	at := func(off int) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	return words{at(pingOffset), at(pingWaitersOffset), at(pongOffset), at(pongWaitersOffset)}
}

// newShmFile creates a zeroed mapping-sized file in /dev/shm for a parent
// and its child to map, removed when the test ends.
func newShmFile(t testing.TB) string {
	t.Helper()
	f, err := os.CreateTemp("/dev/shm", "shmring-futex-test-*")
	if err != nil {
		t.Skipf("cannot create a file in /dev/shm (%v): the cross-process tests need it", err)
	}
	path := f.Name()
	t.Cleanup(func() { os.Remove(path) })
	defer f.Close()
	if err := f.Truncate(mappingSize); err != nil {
		t.Fatal(err)
	}
	return path
}

// mapShared maps path MAP_SHARED, read-write.
func mapShared(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	mem, err := unix.Mmap(int(f.Fd()), 0, mappingSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return mem, nil
}

// mapForTest maps path for the test's lifetime.
func mapForTest(t testing.TB, path string) words {
	t.Helper()
	mem, err := mapShared(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return wordsOf(mem)
}

// mapMemfd maps a fresh memfd MAP_SHARED for the test's lifetime: the other
// way the ring's memory can be shared.
func mapMemfd(t testing.TB) words {
	t.Helper()
	fd, err := unix.MemfdCreate("shmring-futex-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Skipf("memfd_create: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, mappingSize); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(fd, 0, mappingSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return wordsOf(mem)
}
