//go:build linux

package ring

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/shm"
)

// Remove takes a name that may be any path, so a mistaken one must not cost
// a file that is no ring (a black-box tester removed /etc/passwd with it,
// as root), nor open a FIFO or a device. What may be a ring goes: its
// magic, or what a Create that died leaves on tmpfs (an empty file, or a
// first page of zeros). A symbolic link goes itself, never its target.
// Anything else stays: other data, an empty file or zeros on a disk file
// system, zeros followed by data within the first page (ErrCorrupt), a
// FIFO or a socket (ErrNotRegular).
func TestNameRulesRemoveRemovesOnlyWhatMayBeARing(t *testing.T) {
	disk, shmDir := t.TempDir(), t.TempDir()
	if mem := filepath.Join(shm.Dir, uniqueName(t)); os.Mkdir(mem, 0o700) == nil {
		shmDir = mem // a tmpfs, where a Create's file lives
		t.Cleanup(func() { os.RemoveAll(mem) })
	}
	write := func(dir, name string, b []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	swapLike := make([]byte, 8192) // zeros, then a mark inside the first page (as a swap file's)
	copy(swapLike[4086:], "SWAPSPACE2")
	for _, tc := range []struct {
		path string
		want error
	}{
		{write(disk, "precious", []byte("precious data, no ring")), ErrCorrupt},
		{write(disk, "zeros-on-disk", make([]byte, 4096)), ErrCorrupt},
		{write(disk, "empty-on-disk", nil), ErrCorrupt},
		{write(shmDir, "swap-like", swapLike), ErrCorrupt},
	} {
		before, _ := os.ReadFile(tc.path)
		if err := Remove(tc.path); !errors.Is(err, tc.want) {
			t.Errorf("Remove(%s) = %v, want %v", filepath.Base(tc.path), err, tc.want)
		}
		if after, err := os.ReadFile(tc.path); err != nil || string(after) != string(before) {
			t.Errorf("%s after Remove: %v; want it untouched", filepath.Base(tc.path), err)
		}
	}

	fifo := filepath.Join(disk, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(disk, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, path := range []string{fifo, sock} {
		if err := Remove(path); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Remove(%s) = %v, want ErrNotRegular", filepath.Base(path), err)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("%s after Remove: %v; want it still there", filepath.Base(path), err)
		}
	}

	other := filepath.Join(disk, "precious")
	link := filepath.Join(disk, "link")
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{write(shmDir, "empty", nil), write(shmDir, "zeros", make([]byte, 8192)), link} {
		if err := Remove(path); err != nil {
			t.Errorf("Remove(%s) = %v, want it removed", filepath.Base(path), err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Remove (%v)", filepath.Base(path), err)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Remove of a link removed what it led to: %v", err)
	}
	name := uniqueName(t)
	r, err := Create(name, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := Remove(name); err != nil {
		t.Errorf("Remove of a ring = %v", err)
	}
}
