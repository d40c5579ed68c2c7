package shm

// Transparent huge pages for tmpfs and memfd rings.
//
// A ring of 256 MiB in 4 KiB pages is 65,536 pages to fault and as many TLB
// entries to miss; in 2 MiB pages it is 128. hugetlbfs gives huge pages for
// certain, from a pool reserved beforehand. tmpfs gives them by a policy
// (Documentation/admin-guide/mm/transhuge.rst): a tmpfs mount's huge=
// option (never unless mounted otherwise: /dev/shm as Docker and systemd
// mount it), and for memfds, which live on the kernel's internal mount,
// /sys/kernel/mm/transparent_hugepage/shmem_enabled, whose "deny" and
// "force" override every mount. "always" and "within_size" give huge pages
// to any allocation, fallocate's included; "advise" only to page faults in
// a mapping advised MADV_HUGEPAGE. So a large ring's mapping is always
// advised, and under "advise" its pages are allocated by faulting the
// advised mapping (MADV_POPULATE_WRITE) rather than by fallocate, which
// would fix them as base pages first. Elsewhere fallocate allocates them:
// measured on this project's machine, fallocate then populate creates a
// 256 MiB ring of base pages some 20 % faster than populate alone.

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// pmdSize is the size of a transparent huge page (0 where the kernel has
// none).
var pmdSize = sync.OnceValue(func() int {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
})

// thpSized reports whether a mapping of n bytes can hold a transparent huge
// page.
func thpSized(n int) bool { s := pmdSize(); return s > 0 && n >= s }

// adviseTHP advises huge pages for a mapping that can hold at least one.
// The advice is a hint: a kernel that declines it (EINVAL without THP)
// leaves the ring on base pages, which is no error.
func adviseTHP(m []byte) {
	if thpSized(len(m)) {
		_ = unix.Madvise(m, unix.MADV_HUGEPAGE)
	}
}

// faultToAllocate reports whether a new file of n bytes must get its pages
// by faults in its advised mapping, not by fallocate: it is large enough
// for a huge page and its tmpfs gives them only to advised mappings.
func (f *File) faultToAllocate(n int) bool {
	if !thpSized(n) {
		return false
	}
	return f.hugePolicy() == "advise"
}

// hugePolicy is the transparent huge page policy of the tmpfs the file is
// on: "never", "always", "within_size" or "advise" ("never" where it cannot
// be told).
func (f *File) hugePolicy() string {
	global := selected(readSys("shmem_enabled"))
	switch {
	case global == "deny":
		return "never"
	case global == "force":
		return "always"
	case f.memfd:
		return global
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.f.Fd()), &st) != nil {
		return "never"
	}
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "never"
	}
	defer mi.Close()
	return mountHuge(bufio.NewScanner(mi), unix.Major(st.Dev), unix.Minor(st.Dev))
}

// mountHuge is the huge= option of the tmpfs mount of device major:minor
// in a /proc/self/mountinfo listing (proc(5)): "never" if it has none.
func mountHuge(s *bufio.Scanner, major, minor uint32) string {
	dev := strconv.FormatUint(uint64(major), 10) + ":" + strconv.FormatUint(uint64(minor), 10)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		sep := -1
		for i, w := range fields {
			if w == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 3 || fields[2] != dev || sep < 0 || len(fields) < sep+4 || fields[sep+1] != "tmpfs" {
			continue
		}
		for _, o := range strings.Split(fields[sep+3], ",") {
			if v, ok := strings.CutPrefix(o, "huge="); ok {
				return v
			}
		}
		return "never"
	}
	return "never"
}

func readSys(name string) string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/" + name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// selected is the bracketed choice of a sysfs setting: "always [advise]
// never" is "advise".
func selected(s string) string {
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}
