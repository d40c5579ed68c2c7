"""From a name or a descriptor to a validated mapping (LAYOUT.md section 6,
"Opener"), checking the file's edges first: what sits at the name, its owner
and mode, its size."""

import ctypes
import errno
import mmap
import os
import stat
import struct
import time

from . import _layout as L
from . import _sys
from ._header import decode
from .errors import (
    BadMagicError,
    InvalidError,
    NotExistError,
    NotReadyError,
    ReadyWordError,
    ShortFileError,
    SizeError,
    UnsafeFileError,
)

DEFAULT_OPEN_TIMEOUT = 2.0  # seconds, as Go's ring.DefaultOpenTimeout
_MADV_POPULATE_WRITE = 23


def resolve(name):
    """A name without '/' is /dev/shm/<name>; with one, a path. "", ".",
    ".." and any ".." component are refused, as package ring refuses them."""
    if not isinstance(name, str) or name in ("", ".") or "\x00" in name:
        raise InvalidError(f"ring: invalid name {name!r}")
    if ".." in name.split("/"):
        raise InvalidError(f"ring: name {name!r}: '..' refused")
    return name if "/" in name else "/dev/shm/" + name


def _check_edges(fd, path, allow_shared):
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFileError(f"ring: {path} is not a regular file (mode={st.st_mode:#o})")
    if st.st_uid != os.geteuid():
        raise UnsafeFileError(f"ring: {path} is owned by uid={st.st_uid}, not by this process's uid={os.geteuid()}")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not allow_shared:
        raise UnsafeFileError(
            f"ring: {path} is writable by group or others (mode={st.st_mode & 0o7777:#o}); allow_shared=True accepts it"
        )


def _await_header(fd, timeout):
    """Wait, bounded, for the creator's ready word, then validate the header.
    Read with pread, never through a mapping: a short file would fault."""
    deadline = time.monotonic() + timeout
    delay = 50e-6
    while True:
        b = os.pread(fd, L.HEADER_SIZE, 0)
        if 0 < len(b) < L.HEADER_SIZE:
            raise ShortFileError(f"ring: file of {len(b)} bytes, shorter than a ring header")
        if len(b) == L.HEADER_SIZE:
            ready = struct.unpack_from("<I", b, L.READY_OFFSET)[0]
            if ready == L.READY_VALUE:
                # SYNC POINT: ready. One pread copies the ready word last, so
                # the bytes before it may be stale: read again, now trusted.
                b = os.pread(fd, L.HEADER_SIZE, 0)
                if len(b) != L.HEADER_SIZE:
                    raise ShortFileError(f"ring: file of {len(b)} bytes, shorter than a ring header")
                return decode(b)
            if ready != 0:
                raise ReadyWordError(f"ring: ready word={ready:#x}, want {L.READY_VALUE:#x}")
            if b[: L.MAGIC_SIZE] not in (L.MAGIC, bytes(L.MAGIC_SIZE)):
                raise BadMagicError("ring: not ready and not a ring being built (bad magic)")
        if time.monotonic() >= deadline:
            raise NotReadyError(f"ring: waited {timeout}s for the creator to finish")
        time.sleep(delay)
        delay = min(2 * delay, 0.01)


class Ring:
    """A mapped, validated ring file. Take roles from it (consumer, producer,
    reader); close them before the ring. A Ring may be shared by threads; a
    role handle is used by one thread at a time."""

    def __init__(self, fd, name, timeout=DEFAULT_OPEN_TIMEOUT):
        _sys.check_platform()
        self.name = name
        self._fd = fd
        self.info = _await_header(fd, timeout)
        size = os.fstat(fd).st_size
        if size != self.info.file_size:
            raise SizeError(f"ring: file size={size}, header says {self.info.file_size} (truncated or foreign file)")
        self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            self._mm.madvise(_MADV_POPULATE_WRITE)  # no first touch on the data path
        except OSError as e:
            if e.errno != errno.EINVAL:
                self._mm.close()
                raise
        self._anchor = ctypes.c_uint8.from_buffer(self._mm)
        self.address = ctypes.addressof(self._anchor)  # for futex calls
        mv = memoryview(self._mm)
        self.mv = mv
        self.u32 = mv.cast("I")  # native order: one aligned load or store each
        self.u64 = mv.cast("Q")
        self._handles = set()

    @property
    def kind(self):
        return self.info.kind

    @property
    def slot_size(self):
        return self.info.slot_size

    def consumer(self):
        """Take the SPSC consumer role."""
        from ._consumer import Consumer

        return self._track(Consumer(self))

    def producer(self):
        """Take the SPSC producer role."""
        from ._producer import Producer

        return self._track(Producer(self))

    def reader(self, policy="lossy", start="oldest"):
        """Join a broadcast ring as a reader: policy "lossy" (the producer never
        waits for it) or "lossless"; start "oldest" or "latest"."""
        from ._reader import Reader

        return self._track(Reader(self, policy, start))

    def _track(self, h):
        self._handles.add(h)
        return h

    def close(self):
        """Close the role handles taken from this ring and unmap it."""
        for h in list(self._handles):
            h.close()
        self._handles.clear()
        if self._mm is None:
            return
        for v in (self.u32, self.u64, self.mv):
            v.release()
        del self._anchor
        self._mm.close()
        self._mm = None
        os.close(self._fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_ring(name, timeout=DEFAULT_OPEN_TIMEOUT, allow_shared=False):
    """Open and map the ring called name. What sits at the name is checked
    first: a symlink is refused, not followed (O_NOFOLLOW); the file must be a
    regular file owned by this user and, unless allow_shared, writable by
    nobody else (UnsafeFileError). Then the header is validated as Go's
    package layout does, and the file's size against it."""
    path = resolve(name)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotExistError(f"ring: {name} does not exist (path={path})") from None
    except IsADirectoryError:
        raise UnsafeFileError(f"ring: {path} is a directory") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafeFileError(f"ring: {path} is a symbolic link") from None
        raise
    try:
        _check_edges(fd, path, allow_shared)
        return Ring(fd, name, timeout)
    except BaseException:
        os.close(fd)
        raise


def open_fd(fd, timeout=DEFAULT_OPEN_TIMEOUT):
    """Open a ring from an inherited or received descriptor (a memfd, say),
    duplicated so the caller keeps fd. Owner and mode are not checked:
    handing over a descriptor is a deliberate grant."""
    own = os.dup(fd)
    try:
        if not stat.S_ISREG(os.fstat(own).st_mode):
            raise UnsafeFileError(f"ring: fd={fd} is not a regular file")
        return Ring(own, f"fd:{fd}", timeout)
    except BaseException:
        os.close(own)
        raise
