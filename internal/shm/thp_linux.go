package shm

// Transparent huge pages for tmpfs and memfd rings.
//
// A ring of 256 MiB in 4 KiB pages is 65,536 pages to fault and as many TLB
// entries to miss; in 2 MiB pages it is 128. hugetlbfs gives huge pages for
// certain, from a pool reserved beforehand; tmpfs (and every memfd without
// MFD_HUGETLB) gives them only where
// /sys/kernel/mm/transparent_hugepage/shmem_enabled allows: "always" and
// "within_size" for every file, "advise" for mappings advised
// MADV_HUGEPAGE, "never" and "deny" never (Documentation/admin-guide/mm/
// transhuge.rst). A ring is advised, so "advise" suffices; the advice is
// given before its pages are allocated, which is when the choice is made.

import (
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

// adviseTHP advises huge pages for a mapping that can hold at least one.
// The advice is a hint: a kernel that declines it (EINVAL without THP)
// leaves the ring on base pages, which is no error.
func adviseTHP(m []byte) {
	if s := pmdSize(); s > 0 && len(m) >= s {
		_ = unix.Madvise(m, unix.MADV_HUGEPAGE)
	}
}
