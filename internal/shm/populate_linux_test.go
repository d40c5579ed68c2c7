//go:build linux

package shm

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPopulateOfAFileShrunkMeanwhileSaysSo: Open maps a file of the size
// its header gives, and a peer's ftruncate lands between the size check
// and the populate: MADV_POPULATE_WRITE fails with EFAULT for the pages
// gone. That is ErrShort (the ring's ErrTruncated), not ErrNoSpace: a
// black-box tester's Opens racing a truncation were told "no space for
// ring file ... bad address", which sends an operator after /dev/shm's
// size.
func TestPopulateOfAFileShrunkMeanwhileSaysSo(t *testing.T) {
	f, err := os.CreateTemp("/dev/shm", "shmring-test-populate-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	const size = 64 << 10
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	if unix.Madvise(m[:4096], unix.MADV_POPULATE_WRITE) != nil {
		t.Skip("no MADV_POPULATE_WRITE (Linux 5.14): populate reads the pages instead, and a page past the end is a SIGBUS there")
	}
	if err := f.Truncate(4096); err != nil { // the peer's cut
		t.Fatal(err)
	}
	err = (&File{f: f}).populate(m, false)
	if !errors.Is(err, ErrShort) || errors.Is(err, ErrNoSpace) {
		t.Errorf("populate of a file shrunk after it was mapped = %v, want ErrShort, not ErrNoSpace", err)
	}
}
