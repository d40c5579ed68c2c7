//go:build linux

package ringstat

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
	"golang.org/x/sys/unix"
)

// TestAListScansProcOnce: a List of many rings whose creators are gone
// asks for each whether a process has it open for writing or mapped
// writable, and answers all
// from one pass over /proc. It made a pass per ring, a stat of every
// descriptor on the machine each: 40 s for `ringctl ls` of 300 dead rings
// beside one process with 20,000 files open, and a Prometheus scrape past
// its timeout. (From a black-box tester.)
func TestAListScansProcOnce(t *testing.T) {
	dir := t.TempDir()
	const rings = 5
	for i := range rings {
		path := filepath.Join(dir, string(rune('a'+i)))
		r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		setCreator(t, path, 1<<22+1) // no process has such a pid
	}
	before := procScans
	got, err := List([]string{dir}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != rings {
		t.Fatalf("List found %d rings, want %d", len(got), rings)
	}
	for _, s := range got {
		if s.CreatorAlive || s.OpenElsewhere == "" {
			t.Fatalf("%s: creator alive %v, open elsewhere %q: want a gone creator, and the question asked", s.Name, s.CreatorAlive, s.OpenElsewhere)
		}
	}
	if n := procScans - before; n > 1 {
		t.Errorf("List of %d rings with gone creators made %d passes over /proc, want at most one", rings, n)
	}
}

// setCreator rewrites the creator pid in the header of the ring at path.
func setCreator(t *testing.T, path string, pid uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, layout.HeaderSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	h, err := layout.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	h.CreatorPID = pid
	h.Encode(b)
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
}

// TestMappedWritableReadsMaps: the files /proc/PID/maps lines map
// writable, by device (hex major:minor) and inode; a file mapped read-only
// is not one, and anonymous memory (inode 0) is none.
func TestMappedWritableReadsMaps(t *testing.T) {
	maps := []byte(`55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1835041 /usr/bin/cat
7f3a1c000000-7f3a1c021000 rw-s 00000000 00:1a 4242 /dev/shm/quotes (deleted)
7f3a1c100000-7f3a1c200000 rw-p 00000000 00:00 0
7ffd4b3e1000-7ffd4b402000 rw-p 00000000 00:00 0 [stack]
garbage
`)
	writable := map[fileID]struct{}{}
	mappedWritable(maps, writable)
	want := fileID{unix.Mkdev(0, 0x1a), 4242}
	if _, ok := writable[want]; len(writable) != 1 || !ok {
		t.Errorf("writable %v, want only %v (rw-s)", writable, want)
	}
}
