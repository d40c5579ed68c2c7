//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/futex"
)

// smallShm is the /dev/shm size below which doctor warns: Docker's default
// is 64 MiB, which a handful of rings of a few thousand 4 KiB slots fill.
const smallShm = 256 << 20

const tmpfsMagic = 0x01021994

// pageSize is the least a new ring's file takes.
const pageSize = 4096

func checkKernel() check {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return check{"kernel", statusWarn, err.Error()}
	}
	return check{"kernel", statusInfo, fmt.Sprintf("%s %s", unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Release[:]))}
}

func checkShm(dir string) check {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return check{"shm", statusFail, fmt.Sprintf("%s: %v: bare ring names live there", dir, err)}
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return check{"shm", statusFail, fmt.Sprintf("%s: not a directory: bare ring names live in one", dir)}
	}
	size := fs.Blocks * uint64(fs.Bsize)
	free := fs.Bavail * uint64(fs.Bsize)
	detail := fmt.Sprintf("%s: %s, %s free", dir, bytesIEC(size), bytesIEC(free))
	if size == 0 { // tmpfs mounted with size=0: no limit but memory
		detail = dir + ": no size limit"
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		// No named ring can be made there, which is what the directory
		// is for: a failure, as a missing one is (memfd rings, which
		// need no name, are the memfd check's).
		return check{"shm", statusFail, detail + fmt.Sprintf("; not writable by this user (%v): named rings cannot be created there", err)}
	}
	if int64(fs.Type) != tmpfsMagic {
		return check{"shm", statusWarn, detail + fmt.Sprintf("; not tmpfs (f_type %#x): rings there may touch a disk", fs.Type)}
	}
	if fs.Files > 0 && fs.Ffree == 0 {
		return check{"shm", statusWarn, detail + "; no inodes left: no ring can be created there until a file is removed"}
	}
	if size == 0 {
		return check{"shm", statusOK, detail + ", tmpfs"}
	}
	if free < pageSize {
		return check{"shm", statusWarn, detail + "; full: no ring can be created there until space is freed"}
	}
	if smallTmpfs(&fs) {
		return check{"shm", statusWarn, detail + fmt.Sprintf("; smaller than %s: a container default? (docker --shm-size, Kubernetes emptyDir medium: Memory)", bytesIEC(smallShm))}
	}
	return check{"shm", statusOK, detail + ", tmpfs"}
}

// checkContainer guesses whether this process runs in a container, from the
// marks container runtimes leave, and says what that means for /dev/shm.
func checkContainer(shm string) check {
	var marks []string
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			marks = append(marks, f)
		}
	}
	if b, err := os.ReadFile("/proc/1/cgroup"); err == nil {
		for _, w := range []string{"docker", "kubepods", "containerd", "libpod", "lxc"} {
			if bytes.Contains(b, []byte(w)) {
				marks = append(marks, "/proc/1/cgroup mentions "+w)
				break
			}
		}
	}
	if v := os.Getenv("container"); v != "" {
		marks = append(marks, "$container="+v)
	}
	if len(marks) == 0 {
		return check{"container", statusInfo, "no container marks found"}
	}
	detail := "looks like a container (" + strings.Join(marks, ", ") + ")"
	var fs unix.Statfs_t
	if unix.Statfs(shm, &fs) == nil && smallTmpfs(&fs) {
		return check{"container", statusWarn, detail + " with a small " + shm + "; processes in other containers see rings only through a shared mount"}
	}
	return check{"container", statusInfo, detail + "; processes in other containers see rings only through a shared " + shm}
}

// smallTmpfs: a size limit below smallShm (a tmpfs mounted with size=0
// has none, and statfs shows it 0 blocks).
func smallTmpfs(fs *unix.Statfs_t) bool {
	size := fs.Blocks * uint64(fs.Bsize)
	return size > 0 && size < smallShm
}

func checkFutex() check {
	var word uint32
	if _, err := futex.Wake(&word, 1); err != nil {
		return check{"futex", statusFail, fmt.Sprintf("FUTEX_WAKE: %v: sleeping and waking between processes needs it", err)}
	}
	return check{"futex", statusOK, "FUTEX_WAIT/FUTEX_WAKE (shared) available"}
}

// membarrier(2) commands (linux/membarrier.h).
const (
	membarrierQuery                  = 0
	membarrierGlobalExpedited        = 1 << 1
	membarrierRegisterGlobalExpedite = 1 << 2
)

func checkMembarrier() check {
	mask, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierQuery, 0, 0)
	if errno != 0 {
		return check{"membarrier", statusWarn, fmt.Sprintf("unavailable (%v): producers publish with a full fence per store, slower", errno)}
	}
	if mask&membarrierGlobalExpedited == 0 || mask&membarrierRegisterGlobalExpedite == 0 {
		return check{"membarrier", statusWarn, fmt.Sprintf("commands %#x lack GLOBAL_EXPEDITED: producers publish with a full fence per store, slower", mask)}
	}
	return check{"membarrier", statusOK, "GLOBAL_EXPEDITED available: producers may publish with plain release stores"}
}

// checkOFDLocks probes an open-file-description lock on a scratch file in
// shm (removed at once): role liveness depends on them. Where shm cannot
// be written (its own check fails) it probes in the temporary directory,
// and says so.
func checkOFDLocks(shm string) check {
	where := ""
	f, err := os.CreateTemp(shm, ".ringctl-doctor-")
	if err != nil {
		f, err = os.CreateTemp("", ".ringctl-doctor-")
		where = fmt.Sprintf(" (tested in %s: %s cannot be written)", os.TempDir(), shm)
	}
	if err != nil {
		return check{"ofd-locks", statusWarn, fmt.Sprintf("no scratch file to test with: %v", err)}
	}
	defer os.Remove(f.Name())
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 0, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		return check{"ofd-locks", statusFail, fmt.Sprintf("F_OFD_SETLK: %v: role liveness needs open-file-description locks (Linux 3.15)%s", err, where)}
	}
	return check{"ofd-locks", statusOK, "F_OFD_SETLK/F_OFD_GETLK available" + where}
}

// checkMemfd makes a sealed memfd as a memfd ring's creator does and
// checks what such a ring needs of it: the seals hold (ftruncate is EPERM)
// and an OFD lock can be taken on it through a reopening of its descriptor.
func checkMemfd() check {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate("ringctl-doctor", flags|unix.MFD_NOEXEC_SEAL)
	if errors.Is(err, unix.EINVAL) { // before Linux 6.3
		fd, err = unix.MemfdCreate("ringctl-doctor", flags)
	}
	if err != nil {
		return check{"memfd", statusWarn, fmt.Sprintf("memfd_create: %v: memfd rings (Options.Memfd) unavailable, named rings unaffected", err)}
	}
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	if err := f.Truncate(4096); err != nil {
		return check{"memfd", statusWarn, fmt.Sprintf("ftruncate of a memfd: %v", err)}
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return check{"memfd", statusWarn, fmt.Sprintf("F_ADD_SEALS: %v: memfd rings cannot be sealed against truncation", err)}
	}
	if err := f.Truncate(0); !errors.Is(err, unix.EPERM) {
		return check{"memfd", statusWarn, fmt.Sprintf("ftruncate of a sealed memfd = %v, want EPERM: the seals do not hold", err)}
	}
	lf, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDWR, 0)
	if err != nil {
		return check{"memfd", statusWarn, fmt.Sprintf("reopen a memfd through /proc/self/fd: %v: memfd rings cannot take roles", err)}
	}
	defer lf.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 0, Len: 1}
	if err := unix.FcntlFlock(lf.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		return check{"memfd", statusWarn, fmt.Sprintf("F_OFD_SETLK on a memfd: %v: memfd rings cannot take roles", err)}
	}
	return check{"memfd", statusOK, "memfd_create, seals against shrinking and growing, OFD locks on a memfd: memfd rings work"}
}

func checkHugePages() check {
	info := meminfo("HugePages_Total", "HugePages_Free", "Hugepagesize")
	mounts := hugetlbfsMounts()
	where := "no hugetlbfs mounted"
	if len(mounts) > 0 {
		where = "hugetlbfs at " + strings.Join(mounts, ", ")
	}
	if info["HugePages_Total"] == "" {
		return check{"huge-pages", statusInfo, "no huge page counts in /proc/meminfo; " + where}
	}
	detail := fmt.Sprintf("%s reserved, %s free, %s each; %s", info["HugePages_Total"], info["HugePages_Free"], info["Hugepagesize"], where)
	if info["HugePages_Total"] == "0" || len(mounts) == 0 {
		return check{"huge-pages", statusInfo, detail + " (rings on huge pages need vm.nr_hugepages; a named one also a hugetlbfs mount, a memfd one none)"}
	}
	return check{"huge-pages", statusOK, detail}
}

func checkTHP() check {
	read := func(f string) string {
		b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/" + f)
		if err != nil {
			return "unknown"
		}
		return selected(strings.TrimSpace(string(b)))
	}
	enabled, shmem := read("enabled"), read("shmem_enabled")
	detail := fmt.Sprintf("enabled=%s, shmem_enabled=%s", enabled, shmem)
	if shmem == "never" || shmem == "deny" || shmem == "unknown" {
		return check{"thp", statusInfo, detail + " (tmpfs and memfd rings use base pages: more TLB misses on large rings; advise suffices)"}
	}
	return check{"thp", statusOK, detail + " (large tmpfs and memfd rings, advised MADV_HUGEPAGE, may get huge pages)"}
}

func checkMemlock() check {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		return check{"memlock", statusWarn, err.Error()}
	}
	lim := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return bytesIEC(v)
	}
	return check{"memlock", statusInfo, fmt.Sprintf("RLIMIT_MEMLOCK soft %s, hard %s (what mlock of a ring may pin)", lim(rl.Cur), lim(rl.Max))}
}

// selected is the bracketed choice of a sysfs setting: "always [madvise]
// never" is "madvise".
func selected(s string) string {
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// meminfo returns the named fields of /proc/meminfo, values as written
// ("2048 kB"); absent fields are missing from the map.
func meminfo(keys ...string) map[string]string {
	out := map[string]string{}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range keys {
			if k == want {
				out[k] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

func hugetlbfsMounts() []string {
	b, err := os.ReadFile("/proc/self/mounts")
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[2] == "hugetlbfs" {
			out = append(out, f[1])
		}
	}
	return out
}
