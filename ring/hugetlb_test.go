//go:build linux

package ring

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// hugetlbfsDir returns a directory on hugetlbfs with at least one free huge
// page: a mounted one, or one mounted for the test (root only). It skips
// the test, saying why, where there is none.
func hugetlbfsDir(t *testing.T) string {
	t.Helper()
	if free := meminfo(t, "HugePages_Free"); free < 1 {
		t.Skipf("no free huge pages (HugePages_Free=%d in /proc/meminfo); as root, `echo 4 > /proc/sys/vm/nr_hugepages` provides some", free)
	}
	if dir := mountedHugetlbfs(); dir != "" && unix.Access(dir, unix.W_OK) == nil {
		return dir
	}
	dir := t.TempDir()
	if err := unix.Mount("hugetlbfs", dir, "hugetlbfs", 0, ""); err != nil {
		t.Skipf("no writable hugetlbfs mounted, and mounting one failed (needs CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { // lazily: a mapping a failed test leaked must not keep the mount
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func mountedHugetlbfs() string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) > 2 && fields[2] == "hugetlbfs" {
			return fields[1]
		}
	}
	return ""
}

// meminfo is the value of a /proc/meminfo line (0 if absent).
func meminfo(t *testing.T, key string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skipf("no /proc/meminfo: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// TestHugeRingIsSizedAndUnmappedInWholeHugePages: a ring on hugetlbfs far
// smaller than a huge page gets a file of one whole huge page (ftruncate and
// munmap of any other length fail there), opens, carries a message, and
// unmaps without error on both sides.
func TestHugeRingIsSizedAndUnmappedInWholeHugePages(t *testing.T) {
	dir := hugetlbfsDir(t)
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	page := int64(fs.Bsize)
	name := filepath.Join(dir, uniqueName(t))
	r, err := Create(name, Options{Kind: SPSC, SlotSize: 64, Slots: 1024})
	if err != nil {
		t.Fatalf("Create on hugetlbfs (huge page %d bytes): %v", page, err)
	}
	defer Remove(name)
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fileSize := int64(r.Header().FileSize); fileSize >= page || st.Size() != page {
		t.Errorf("a %d-byte ring on hugetlbfs: file of %d bytes, want one huge page of %d", fileSize, st.Size(), page)
	}
	peer, err := Open(name)
	if err != nil {
		r.Close()
		t.Fatalf("Open of a hugetlbfs ring: %v", err)
	}
	passOne(t, mustProducer(t, r), mustConsumer(t, peer), 1, 40)
	if err := peer.Close(); err != nil {
		t.Errorf("the opener's Close (munmap) = %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("the creator's Close (munmap) = %v", err)
	}
}
