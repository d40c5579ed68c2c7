// Package shm is the ring's seam with the operating system: the memory a
// ring lives in and the liveness locks on it, behind one small interface,
// Segment, chosen once when a ring is built.
//
//   - File: a ring file under a name (/dev/shm/<name>, or a path on any
//     tmpfs or hugetlbfs), or a memfd with no name (memfd_linux.go), created
//     race-free and with every page allocated (MADV_POPULATE_WRITE after
//     the transparent huge page advice, or fallocate on kernels before
//     5.14, so a full /dev/shm or an empty huge page pool is an error at
//     Create, never a SIGBUS later), opened, by name or from a descriptor,
//     only after its type, owner, mode (not a memfd's: it guards no name),
//     seals (a memfd's) and size are checked on the descriptor, mapped
//     shared and pre-faulted, and locked per role with
//     open-file-description byte locks that the kernel drops when their
//     holder dies. Descriptors travel over unix sockets (passfd_linux.go).
//   - Heap: ordinary Go memory with the locks kept in the process, for the
//     race detector (which cannot see accesses through a mapping) and for
//     tests that need no file.
//
// The package knows nothing of rings: not the header, not the roles, not
// which byte locks what. Its errors are its own sentinels; package ring
// gives each of them its own exported one.
//
// Invariants:
//
//   - What was checked is what is mapped: every check of an opened file is
//     made on its descriptor (fstat, fstatfs), never again on the path.
//   - Nothing at a name is reused: Create uses O_EXCL|O_NOFOLLOW, Open uses
//     O_NOFOLLOW, Remove unlinks and never removes a directory.
//   - A closed File's address range is never handed back while the File is
//     reachable: Close swaps the file's pages for an inaccessible
//     reservation, unmapped once the File is garbage, so a stale pointer
//     faults instead of reaching memory the kernel mapped there later. A
//     File dropped unclosed has its range unmapped once it is garbage too.
//
// Off Linux every entry point fails (Supported is false): a ring needs
// futex(2) across processes, OFD locks, /dev/shm (or memfd_create) and
// MADV_POPULATE_WRITE or fallocate.
package shm
