//go:build linux

package ring

// Options.HugePages and the transparent huge page advice. This machine may
// have no huge pages: what needs them skips saying so, and the error path
// (more huge pages asked for than are free) runs everywhere.

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePageSize is the default huge page size (Hugepagesize in
// /proc/meminfo, in kB there), or a skip.
func hugePageSize(t *testing.T) int {
	t.Helper()
	kb := meminfo(t, "Hugepagesize")
	if kb <= 0 {
		t.Skip("no Hugepagesize in /proc/meminfo: a kernel without hugetlbfs")
	}
	return kb << 10
}

// TestHugePagesMoreThanAreFreeIsErrNoHugePages: a memfd ring on huge pages
// one page larger than the pool has free fails at Create with
// ErrNoHugePages (and ErrNoSpace), not with SIGBUS at some later touch.
func TestHugePagesMoreThanAreFreeIsErrNoHugePages(t *testing.T) {
	page := hugePageSize(t)
	if b, err := os.ReadFile("/proc/sys/vm/nr_overcommit_hugepages"); err == nil && strings.TrimSpace(string(b)) != "0" {
		t.Skipf("vm.nr_overcommit_hugepages=%s: the kernel may hand out surplus huge pages beyond HugePages_Free", strings.TrimSpace(string(b)))
	}
	free := meminfo(t, "HugePages_Free")
	slots := 1
	for slots*(1<<20) < (free+1)*page {
		slots *= 2
	}
	o := Options{Kind: SPSC, SlotSize: 1 << 20, Slots: slots, Memfd: true, HugePages: true}
	r, err := Create(uniqueName(t), o)
	if err == nil {
		r.Close()
		t.Fatalf("Create of a %d-slot 1 MiB ring on huge pages with %d free huge pages of %d bytes succeeded, want ErrNoHugePages", slots, free, page)
	}
	if !errors.Is(err, ErrNoHugePages) || !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "vm.nr_hugepages") {
		t.Errorf("Create of a ring larger than the free huge pages = %v, want ErrNoHugePages and ErrNoSpace, naming vm.nr_hugepages", err)
	}
}

// TestHugePagesMemfdRingIsSizedInWholeHugePages: a small memfd ring on huge
// pages is one whole huge page, sealed, and carries a message to an opener
// of its descriptor.
func TestHugePagesMemfdRingIsSizedInWholeHugePages(t *testing.T) {
	page := hugePageSize(t)
	if free := meminfo(t, "HugePages_Free"); free < 1 {
		t.Skipf("no free huge pages (HugePages_Free=%d in /proc/meminfo); as root, `echo 4 > /proc/sys/vm/nr_hugepages` provides some", free)
	}
	r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 1024, HugePages: true})
	var st unix.Stat_t
	if err := unix.Fstat(int(r.File().Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if size := int64(r.Header().FileSize); size >= int64(page) || st.Size != int64(page) {
		t.Errorf("a %d-byte ring on huge pages: memfd of %d bytes, want one huge page of %d", size, st.Size, page)
	}
	mustBeSealed(t, "the creator", r.File(), st.Size)
	peer, err := OpenFile(r.File())
	if err != nil {
		t.Fatalf("OpenFile of a huge page memfd ring: %v", err)
	}
	defer peer.Close()
	passOne(t, mustProducer(t, r), mustConsumer(t, peer), 1, 40)
}

// TestHugePagesANamedRingMustBeOnHugetlbfs: HugePages for a name in
// /dev/shm (tmpfs) is ErrInvalid, and leaves no file.
func TestHugePagesANamedRingMustBeOnHugetlbfs(t *testing.T) {
	name := uniqueName(t)
	r, err := Create(name, Options{Kind: SPSC, SlotSize: 64, Slots: 8, HugePages: true})
	if err == nil {
		r.Close()
		Remove(name)
		t.Fatal("Create with HugePages of a ring in /dev/shm succeeded, want ErrInvalid")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Create with HugePages of a ring in /dev/shm = %v, want ErrInvalid", err)
	}
	if _, err := os.Lstat("/dev/shm/" + name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused Create left /dev/shm/%s behind (%v)", name, err)
	}
}

// smaps is the /proc/self/smaps entry (proc(5)) of the mapping of this
// process that starts at addr: each "Key: value" line, value as written.
func smaps(t *testing.T, addr uintptr) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	var entry map[string]string
	for s.Scan() {
		line := s.Text()
		if start, _, ok := strings.Cut(strings.Fields(line + " x")[0], "-"); ok {
			if entry != nil {
				return entry
			}
			if v, err := strconv.ParseUint(start, 16, 64); err == nil && uintptr(v) == addr {
				entry = map[string]string{}
			}
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok && entry != nil {
			entry[k] = strings.TrimSpace(v)
		}
	}
	if entry == nil {
		t.Fatalf("no mapping at %#x in /proc/self/smaps (%v)", addr, s.Err())
	}
	return entry
}

// mapping is the address r's mapping starts at.
func mapping(r *Ring) uintptr { return uintptr(unsafe.Pointer(&r.mem[0])) }

// TestHugePagesTransparentHugePagesAreAdvisedForLargeRings: a tmpfs or
// memfd ring that can hold a transparent huge page is mapped with
// MADV_HUGEPAGE ("hg" in its VmFlags), in its creator and in an opener; a
// smaller one is not. Whether the kernel then uses huge pages is
// shmem_enabled's to say.
func TestHugePagesTransparentHugePagesAreAdvisedForLargeRings(t *testing.T) {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		t.Skipf("no transparent huge pages in this kernel: %v", err)
	}
	pmd, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pmd <= 0 {
		t.Skipf("hpage_pmd_size %q: %v", b, err)
	}
	advised := func(r *Ring) bool {
		return slices.Contains(strings.Fields(smaps(t, mapping(r))["VmFlags"]), "hg")
	}
	large := Options{Kind: SPSC, SlotSize: 4096, Slots: 2 * pmd / 4096}
	small := Options{Kind: SPSC, SlotSize: 64, Slots: 8}
	for _, tc := range []struct {
		name  string
		ring  func(Options) *Ring
		large bool
	}{
		{"a large memfd ring", func(o Options) *Ring { return newMemfdRing(t, o) }, true},
		{"a large /dev/shm ring", func(o Options) *Ring { return newTestRing(t, o) }, true},
		{"a small memfd ring", func(o Options) *Ring { return newMemfdRing(t, o) }, false},
	} {
		o := small
		if tc.large {
			o = large
		}
		r := tc.ring(o)
		peer, err := OpenFile(r.File())
		if err != nil {
			t.Fatal(err)
		}
		if advised(r) != tc.large || advised(peer) != tc.large {
			t.Errorf("%s of %d bytes (huge page %d): advised MADV_HUGEPAGE creator=%v opener=%v, want %v",
				tc.name, r.Header().FileSize, pmd, advised(r), advised(peer), tc.large)
		}
		peer.Close()
	}
}

// TestHugePagesATmpfsThatAdvisesGivesALargeRingHugePages: on a tmpfs
// mounted huge=advise a large ring's pages are allocated through its
// advised mapping, so they are huge pages, mapped whole (ShmemPmdMapped in
// smaps); on one mounted huge=never they are not. Needs a kernel with
// transparent huge pages and the right to mount (root).
func TestHugePagesATmpfsThatAdvisesGivesALargeRingHugePages(t *testing.T) {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		t.Skipf("no transparent huge pages in this kernel: %v", err)
	}
	pmd, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if g := readTHP(t, "shmem_enabled"); g == "deny" {
		t.Skip("shmem_enabled is deny: no tmpfs gets huge pages")
	}
	for _, tc := range []struct {
		huge string
		want bool
	}{{"advise", true}, {"never", false}} {
		dir := t.TempDir()
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m,huge="+tc.huge); err != nil {
			t.Skipf("cannot mount a tmpfs (needs CAP_SYS_ADMIN): %v", err)
		}
		t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
		name := filepath.Join(dir, "ring")
		r, err := Create(name, Options{Kind: SPSC, SlotSize: 4096, Slots: 4 * pmd / 4096})
		if err != nil {
			t.Fatal(err)
		}
		pmdMapped := smaps(t, mapping(r))["ShmemPmdMapped"]
		if got := pmdMapped != "" && pmdMapped != "0 kB"; got != tc.want {
			t.Errorf("a %d-byte ring on a tmpfs mounted huge=%s: ShmemPmdMapped %q, want huge pages=%v", r.Header().FileSize, tc.huge, pmdMapped, tc.want)
		}
		r.Close()
	}
}

// readTHP is the selected value of a transparent_hugepage setting.
func readTHP(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/" + name)
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// TestHugePagesANamedRingInAMissingDirectoryIsErrNotExist: the path of a
// named huge ring in a directory that does not exist (a hugetlbfs never
// mounted) is ErrNotExist, as Options.HugePages says.
func TestHugePagesANamedRingInAMissingDirectoryIsErrNotExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-mounted", uniqueName(t))
	r, err := Create(path, Options{Kind: SPSC, SlotSize: 64, Slots: 8, HugePages: true})
	if err == nil {
		r.Close()
		t.Fatalf("Create with HugePages of %s succeeded, want ErrNotExist", path)
	}
	if !errors.Is(err, ErrNotExist) {
		t.Errorf("Create with HugePages of a ring in a missing directory = %v, want ErrNotExist", err)
	}
}
