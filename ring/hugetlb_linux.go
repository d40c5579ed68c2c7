package ring

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapSize is how long a ring file of fileSize bytes really is, and how much
// of it is mapped: fileSize itself, except on hugetlbfs, whose files and
// mappings come in whole huge pages (ftruncate and munmap of any other
// length fail with EINVAL), so there it is fileSize rounded up to the huge
// page size. The header keeps the ring's own FileSize; the tail past it is
// mapped and never used.
func mapSize(f *os.File, fileSize uint64) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("ring: fstatfs: %w", err)
	}
	if uint32(st.Type) != unix.HUGETLBFS_MAGIC {
		return fileSize, nil
	}
	page := uint64(st.Bsize) // hugetlbfs reports its huge page size here (statfs(2))
	if page == 0 || page&(page-1) != 0 {
		return 0, fmt.Errorf("ring: hugetlbfs page size=%d, want a power of two", page)
	}
	return (fileSize + page - 1) &^ (page - 1), nil
}
