"""The Linux system calls the protocol needs, from the standard library:
futex and membarrier through ctypes' syscall(), open-file-description locks
through fcntl."""

import ctypes
import errno
import fcntl
import os
import platform
import struct

from .errors import BusyError, ShmringError, UnsupportedError

_MACHINE = platform.machine()
# System call numbers (asm/unistd_64.h, asm-generic/unistd.h).
_SYSCALLS = {"x86_64": (202, 324), "aarch64": (98, 283)}
_SYS_FUTEX, _SYS_MEMBARRIER = _SYSCALLS.get(_MACHINE, (None, None))

_FUTEX_WAIT = 0
_FUTEX_WAKE_OP = 5
# FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0): linux/futex.h.
_FUTEX_OP_ADD_ONE = (1 << 28) | (1 << 12)
_MEMBARRIER_GLOBAL_EXPEDITED = 1 << 1
_MEMBARRIER_REGISTER_GLOBAL_EXPEDITED = 1 << 2

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def check_platform():
    """The lock-free paths of this package are plain Python loads and stores,
    which keep their order only under x86-64's memory model (TSO): refuse
    other machines rather than read torn messages there."""
    if _MACHINE != "x86_64":
        raise ShmringError(f"ring: the pure-Python shmring package needs x86-64 (this machine is {_MACHINE})")


_registered = None


def register_release():
    """Register for membarrier, once per process; True when it worked, and so
    this process may publish with plain stores and say so with
    FLAG_RELEASE_STORES (a sleeper on the other side then forces the fence
    Python cannot issue itself)."""
    global _registered
    if _registered is None:
        _registered = _syscall(_SYS_MEMBARRIER, _MEMBARRIER_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0
    return _registered


def barrier():
    """A full barrier on every running thread of every registered process,
    this one included (https://man7.org/linux/man-pages/man2/membarrier.2.html).
    Python has no fence of its own: this is the sleeper's StoreLoad fence.
    False when it failed."""
    return _syscall(_SYS_MEMBARRIER, _MEMBARRIER_GLOBAL_EXPEDITED, 0, 0) == 0


def futex_wait(addr, val, timeout):
    """Sleep on the shared word at addr while it holds val, at most timeout
    seconds. True when the wait timed out."""
    ts = _Timespec(int(timeout), int((timeout - int(timeout)) * 1e9))
    # FUTEX_WAIT without FUTEX_PRIVATE_FLAG: other processes map the word at
    # other addresses.
    rc = _syscall(_SYS_FUTEX, ctypes.c_void_p(addr), _FUTEX_WAIT, ctypes.c_uint32(val), ctypes.byref(ts), None, 0)
    return rc != 0 and ctypes.get_errno() == errno.ETIMEDOUT


def wake_bump(addr, n):
    """Add one to the shared word at addr atomically and wake up to n
    sleepers on it: FUTEX_WAKE_OP does both in the kernel, with the atomic
    read-modify-write (a full fence) Python lacks."""
    _syscall(_SYS_FUTEX, ctypes.c_void_p(addr), _FUTEX_WAKE_OP, n, 0, ctypes.c_void_p(addr), _FUTEX_OP_ADD_ONE)


# struct flock on x86-64 and aarch64: short type, short whence, off_t start,
# off_t len, pid_t pid.
_FLOCK = "hhxxxxqqi4x"


def lock(ring_fd, byte):
    """Take the OFD write lock on one byte of the ring file through a
    description of our own (reopened through /proc, so it lands on this
    ring's file even if its name was removed); return its descriptor, which
    holds the role until closed. BusyError when a live process holds it."""
    fd = -1
    try:
        fd = os.open(f"/proc/self/fd/{ring_fd}", os.O_RDWR | os.O_CLOEXEC)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0))
        return fd
    except BaseException as e:  # Ctrl-C included: no descriptor, no lock, stays
        if fd >= 0:
            os.close(fd)
        if isinstance(e, OSError) and e.errno in (errno.EAGAIN, errno.EACCES):
            raise BusyError(f"ring: lock byte={byte} held by a live process") from None
        if isinstance(e, OSError):
            no_proc(e, "reopen for role lock")
        raise


def no_proc(e, what):
    """A /proc/self/fd path that fails with ENOENT where /proc is not mounted
    (a sandbox) is UnsupportedError, saying so: a ring's roles and
    handed-over descriptors are reached through it. Anything else returns."""
    if e.errno == errno.ENOENT and not os.path.exists("/proc/self/fd"):
        raise UnsupportedError(
            f"ring: {what}: /proc is not mounted here, and a ring's roles and handed-over descriptors"
            " are reached through /proc/self/fd"
        ) from e


def lock_held(ring_fd, byte):
    """Whether some live description holds the lock on byte (a system call:
    waiting paths only)."""
    got = fcntl.fcntl(ring_fd, fcntl.F_OFD_GETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0))
    return struct.unpack(_FLOCK, got)[0] != fcntl.F_UNLCK


_HUGETLBFS_MAGIC = 0x958458F6
_fstatfs = _libc.fstatfs
_fstatfs.argtypes = (ctypes.c_int, ctypes.c_void_p)


def hugetlbfs_page(fd):
    """The huge page size when fd is a file of hugetlbfs, else None.
    struct statfs on x86-64 begins with long f_type, long f_bsize."""
    buf = ctypes.create_string_buffer(256)  # sizeof(struct statfs) is 120
    if _fstatfs(fd, buf) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"fstatfs: {os.strerror(e)}")
    f_type, f_bsize = struct.unpack_from("qq", buf.raw)
    if f_type & 0xFFFFFFFF != _HUGETLBFS_MAGIC:
        return None
    if f_bsize <= 0 or f_bsize & (f_bsize - 1):
        raise ShmringError(f"ring: hugetlbfs page size={f_bsize}, want a power of two")
    return f_bsize
