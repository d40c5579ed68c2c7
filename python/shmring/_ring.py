"""From a name or a descriptor to a validated mapping (LAYOUT.md section 6,
"Opener"): the file's edges first (_trust), then the header, then the size,
and only then the mapping."""

import ctypes
import errno
import mmap
import os
import struct
import threading
import time
import weakref

from . import _layout as L
from . import _sys
from . import _args
from . import _trust
from . import _closing
from ._closing import let_go_role
from ._header import decode
from .errors import (
    BadMagicError,
    ClosedError,
    FileTooBigError,
    InvalidError,
    NotExistError,
    NotReadyError,
    NotRegularError,
    ReadyWordError,
    ShortFileError,
    SizeError,
    SymlinkError,
    TruncatedError,
    UnsupportedError,
)

DEFAULT_OPEN_TIMEOUT = 2.0  # seconds, as Go's ring.DefaultOpenTimeout
DEFAULT_MAX_FILE_SIZE = _trust.DEFAULT_MAX_FILE_SIZE
_END_MARK = struct.pack("<Q", L.END_MARK)
_MADV_POPULATE_WRITE = 23
# Rings open in this process. In a forked child only the forking thread
# lives on: the futex calls other threads had in flight are gone, and a
# lock one of them held would never be let go. The child's copies of the
# role handles are not roles: each lets go of its copy of the role lock's
# descriptor at once (the lock is the parent's, and a child that outlived
# a killed parent kept it held, so that nobody could take the role over)
# and refuses every call (a copy of a consumer delivered the parent's
# next message a second time).
_open_rings = weakref.WeakSet()


def _after_fork_in_child():
    _closing.roles = threading.RLock()  # the forking thread's hold, left in the copy
    for r in list(_open_rings):
        r._futex_calls = {}
        r._futex_done = threading.Condition(threading.RLock())
        r.close_lock = threading.RLock()
        for h in r._handles:
            h._calls = 0  # the parent's threads' calls (_closing)
            h._forked_copy = True
            let_go_role(h)


os.register_at_fork(
    before=lambda: _closing.roles.acquire(),
    after_in_parent=lambda: _closing.roles.release(),
    after_in_child=_after_fork_in_child,
)

# How long close() waits for futex calls in flight on other threads (a
# sleep ends within a tick, _wait.TICK); past it, it leaves the mapping in
# place rather than hang, to be unmapped once the Ring is garbage.
_FUTEX_DRAIN = 1.0


def _await_header(fd, timeout):
    """Wait, bounded, for the creator's ready word, then validate the header.
    Read with pread, never through a mapping: a short file would fault."""
    if timeout != timeout:  # NaN waited for ever
        raise InvalidError("ring: open timeout=nan")
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
        if time.monotonic() >= deadline and not b:
            raise NotReadyError(
                f"ring: the file stayed empty for {timeout}s: its creator died before sizing it, "
                "or a peer truncated it to zero"
            )
        if time.monotonic() >= deadline:
            raise NotReadyError(f"ring: waited {timeout}s for the creator to finish")
        time.sleep(delay)
        delay = min(2 * delay, 0.01)


def _map_size(fd, file_size):
    """How many bytes of the file to map for a ring of file_size: file_size,
    except on hugetlbfs, whose files and mappings come in whole huge pages."""
    page = _sys.hugetlbfs_page(fd)
    return file_size if page is None else (file_size + page - 1) // page * page


def _check_size(fd, info, cap):
    """The header's file size within the cap, the file exactly as long as it
    says (LAYOUT.md section 6, step 5): shorter was truncated, longer grew
    or is foreign. Returns how many bytes to map."""
    if info.file_size > cap:
        raise FileTooBigError(f"ring: file too big to open: header file size={info.file_size}, max_file_size={cap}")
    want = _map_size(fd, info.file_size)
    size = os.fstat(fd).st_size
    if size < want:
        raise TruncatedError(f"ring: truncated: file size={size}, want {want} for header file size={info.file_size}")
    if size != want:
        raise SizeError(f"ring: file size={size}, want {want} for header file size={info.file_size} (a grown or foreign file)")
    return want


class Ring:
    """A mapped, validated ring file. Take roles from it (consumer, producer,
    reader); close them before the ring. A Ring may be shared by threads; a
    role handle is used by one thread at a time."""

    def __init__(self, fd, name, timeout=DEFAULT_OPEN_TIMEOUT, max_file_size=None):
        _sys.check_platform()
        self.name = name
        self._fd = fd
        # Set once check_intact found the file shrunk: every later call of a
        # handle says so without touching the mapping, whose pages past the
        # cut would raise SIGBUS (_closing.closed_as_error).
        self.truncated = False
        self.info = _await_header(fd, timeout)
        if self.info.records:
            # A valid ring, and Go's to use: refused only once the whole
            # header is checked, so that a corrupt one is called corrupt.
            raise UnsupportedError(
                f"ring: record rings (LAYOUT.md section 17) are not supported by the Python package: "
                f"kind={self.info.kind} capacity={self.info.slot_count}"
            )
        size = _check_size(fd, self.info, max_file_size or _trust.DEFAULT_MAX_FILE_SIZE)
        self._end = self.info.end_offset
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
        # Weak: a Ring and its handles dropped together are freed by
        # reference counting, not left to the cycle collector with their
        # roles held (a handle's __del__ lets its role go).
        self._handles = weakref.WeakSet()
        self._closing = False
        # Futex calls in flight on the mapping's addresses, per thread:
        # close() waits for other threads' before it unmaps, so that none
        # lands on whatever is mapped there next (FUTEX_WAKE_OP writes the
        # word it wakes). A close() that interrupts its own thread's call (a
        # signal handler) leaves the mapping to the garbage collector. The
        # lock is reentrant for that handler too.
        self._futex_calls = {}
        self._futex_done = threading.Condition(threading.RLock())
        self._unmapping = False  # no futex call may start
        self._closer = None  # the thread ident of the close() at work
        self._lingering = None  # a mapping left in place for a call in flight
        # Held while a role handle closes, by its own close() and by this
        # Ring's: a handle's close() writes to the mapping, which the
        # Ring's close() must not take away under it.
        self.close_lock = threading.RLock()
        _open_rings.add(self)
        self._fd_open = True  # last: until close() (the number may then be reused); a failed __init__ leaves fd to its caller

    def check_intact(self):
        """Raise TruncatedError unless the end mark still says the file has
        its full size (LAYOUT.md section 2, "The end unit"). A peer that
        shrinks the file takes the end unit's page away before it zeroes the
        tail of any slot's page, so a reader that finds the mark after
        copying a message knows no byte it copied was zeroed. The mark is
        read with pread, not through the mapping: a load from a page that is
        gone raises SIGBUS, which Python cannot survive, while pread past the
        end of the file returns nothing. One system call per message: the
        price of never delivering a damaged one."""
        if os.pread(self._fd, 8, self._end) != _END_MARK:
            if self._closing:  # the descriptor may be closed, its number another file's
                raise ClosedError("ring: closed during the call")
            self.truncated = True
            raise TruncatedError(f"ring: {self.name}: the end mark at file offset={self._end} is gone: the file was shrunk")

    def futex_wake(self, off, n):
        """Bump the word at file offset off and wake up to n of its sleepers
        (FUTEX_WAKE_OP), never on an address close() has unmapped."""
        self._futex_enter()
        try:
            _sys.wake_bump(self.address + off, n)
        finally:
            self._futex_leave()

    def futex_sleep(self, off, val, timeout):
        """Sleep on the word at file offset off while it holds val, at most
        timeout seconds; True when the wait timed out. close() waits for the
        sleep to end (a tick at most) before it unmaps."""
        self._futex_enter()
        try:
            return _sys.futex_wait(self.address + off, val, timeout)
        finally:
            self._futex_leave()

    def _futex_enter(self):
        # Counted before the check: a close() from a signal handler on this
        # thread, between the two, sees the call and leaves the mapping.
        me = threading.get_ident()
        with self._futex_done:
            self._futex_calls[me] = self._futex_calls.get(me, 0) + 1
            if self._unmapping:
                self._futex_leave()
                raise ClosedError("ring: closed")

    def _futex_leave(self):
        me = threading.get_ident()
        with self._futex_done:
            n = self._futex_calls.pop(me) - 1
            if n:
                self._futex_calls[me] = n
            else:
                self._futex_done.notify_all()

    def _futex_elsewhere(self):
        me = threading.get_ident()
        return any(t != me for t in self._futex_calls)

    @property
    def kind(self):
        return self.info.kind

    @property
    def slot_size(self):
        return self.info.slot_size

    def consumer(self):
        """Take the SPSC consumer role."""
        from ._consumer import Consumer

        return self._take(Consumer)

    def producer(self):
        """Take the SPSC producer role."""
        from ._producer import Producer

        return self._take(Producer)

    def reader(self, policy="lossy", start="oldest"):
        """Join a broadcast ring as a reader: policy "lossy" (the producer never
        waits for it) or "lossless"; start "oldest" or "latest"."""
        from ._reader import Reader

        return self._take(lambda r: Reader(r, policy, start))

    def _take(self, make):
        """A role handle, tracked for close(), under the lock close() holds
        while it closes them: a closed Ring gives none (its descriptor may
        be another file's by now)."""
        with self.close_lock:
            if self.closed:
                raise ClosedError("ring: closed")
            if self.truncated:  # a role would be taken on pages a cut took away
                raise TruncatedError(f"ring: {self.name}: the file was found shrunk: the ring is dead for every process")
            before = set(self._handles)
            try:
                h = make(self)
            except BaseException:  # a half-made handle (Ctrl-C, say) keeps no role
                for half in self._handles - before:
                    let_go_role(half)
                self._handles &= before
                raise
            self._handles.add(h)
            return h

    @property
    def closed(self):
        """True once close() began."""
        return self._closing or self._mm is None

    def close(self):
        """Close the role handles taken from this ring and unmap it. A call
        on one of them running on another thread meanwhile raises
        ClosedError. close() waits for futex calls in flight on other
        threads (a sleep lasts a tick at most) before it unmaps; one still
        in flight after a second, one this thread's close() interrupted
        (from a signal handler), or a view of a message still held keeps
        the mapping in place until it and the Ring are garbage. An end-mark
        check that meets the closed descriptor says ClosedError.
        Idempotent; a close() on another thread meanwhile waits for this
        one."""
        me = threading.get_ident()
        try:
            with self._futex_done:
                if self._closer is not None:
                    if self._closer != me:  # until the descriptor is closed too; bounded if that closer was interrupted
                        self._futex_done.wait_for(lambda: not self._fd_open, timeout=2 * _FUTEX_DRAIN)
                    return
                if self._mm is None:
                    return
                self._closer = me
            self._closing = True
            with self.close_lock:
                for h in list(self._handles):
                    h.close()
                self._handles.clear()
            with self._futex_done:
                self._unmapping = True
                drained = self._futex_done.wait_for(lambda: not self._futex_elsewhere(), timeout=_FUTEX_DRAIN)
                drained = drained and me not in self._futex_calls  # else a signal handler's close()
            self._unmap(drained)
        finally:
            if self._closer == me and self._fd_open:
                self._finish_close()

    def _finish_close(self):
        """What close() does whatever stopped it (an exception, Ctrl-C): no
        role lock and no descriptor stays, the mapping is left to the
        collector if it was not unmapped."""
        for h in list(self._handles):
            let_go_role(h)
        self._handles.clear()
        with self._futex_done:
            self._unmapping = True
            me = threading.get_ident()
            safe = not self._futex_elsewhere() and me not in self._futex_calls
        if self._mm is not None:
            try:
                self._unmap(safe)
            finally:
                with self._futex_done:
                    if self._mm is not None:  # interrupted again: left to the collector
                        self._lingering, self._mm = self._mm, None
        try:
            os.close(self._fd)
        finally:
            with self._futex_done:
                self._fd_open = False
                self._futex_done.notify_all()

    def _unmap(self, drained):
        for v in (self.u32, self.u64, self.mv):
            v.release()
        if not drained:
            self._lingering = (self._mm, getattr(self, "_anchor", None))
        else:
            self.__dict__.pop("_anchor", None)  # a second try after an interrupted one
            try:
                self._mm.close()
            except BufferError:  # a view of a message is still held
                self._lingering = self._mm
        with self._futex_done:
            self._mm = None

    def __del__(self):
        # A Ring nobody closed (or whose close() was interrupted before it
        # began its work): its roles and descriptor go with it. Nothing can
        # be inside a call on it any more.
        if getattr(self, "_fd_open", False) and getattr(self, "_closer", None) is None:
            self._closer = threading.get_ident()
            self._closing = True
            self._finish_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_ring(
    name, timeout=DEFAULT_OPEN_TIMEOUT, trust_uids=(), trust_gids=(), allow_world_write=False, max_file_size=None
):
    """Open and map the ring called name: a bare name (no '/') is
    /dev/shm/<name>, anything else must be an absolute path (InvalidError).

    What sits at the name is checked before a byte of it is read, as Go's
    ring.OpenWith does, each refusal its own UnsafeFileError: a symbolic link
    is not followed (SymlinkError); the file must be regular
    (NotRegularError), owned by this process's effective uid or one of
    trust_uids (ForeignOwnerError), and not writable by users not trusted:
    world-writable only with allow_world_write, group-writable only when its
    group is in trust_gids or allow_world_write is set (InsecureModeError). A file, or a header's file
    size, over max_file_size (default 64 GiB) is FileTooBigError. Then the
    header is validated as Go's package layout does, and the file's size
    against it (shorter: TruncatedError)."""
    path = _trust.resolve(name)
    _args.open_timeout(timeout)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotExistError(f"ring: {name} does not exist (path={path})") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise SymlinkError(f"ring: name is a symbolic link: ring={name} path={path}; no link is followed") from None
        if e.errno in (errno.EISDIR, errno.ENXIO):
            raise NotRegularError(f"ring: not a regular file: ring={name} path={path}: {e.strerror}") from None
        if e.errno == errno.EROFS:  # as Go's fs.ErrPermission: a ring is mapped for writing
            raise PermissionError(errno.EROFS, f"ring: {name} is on a read-only file system", path) from None
        raise
    try:
        cap = _trust.check(fd, path, trust_uids, trust_gids, allow_world_write, max_file_size)
        return Ring(fd, name, timeout, cap)
    except BaseException:
        os.close(fd)
        raise


def open_fd(
    fd, timeout=DEFAULT_OPEN_TIMEOUT, trust_uids=(), trust_gids=(), allow_world_write=False, max_file_size=None
):
    """Open a ring from an inherited or received descriptor (a memfd, say),
    duplicated so the caller keeps fd, checked as Go's ring.OpenFileWith
    checks one: a memfd must be sealed against shrinking (UnsealedError),
    and is checked as open_ring checks a file at a name but for its mode
    (which guards only a name); a descriptor of any other file is checked
    exactly as open_ring checks the file at a name, the trust arguments
    included. It takes open_ring's arguments, in open_ring's order."""
    _args.open_timeout(timeout)
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError(f"ring: fd must be an int, not {type(fd).__name__}")
    if fd < 0:  # the caller's error, as in C (SHMRING_EINVAL), not an OSError of dup
        raise InvalidError(f"ring: fd={fd}: not a descriptor")
    try:
        own = os.dup(fd)
    except OSError as e:  # a descriptor not open is the caller's error too (Go: ErrInvalid)
        if e.errno == errno.EBADF:
            raise InvalidError(f"ring: fd={fd}: not an open descriptor") from None
        raise
    try:
        what = f"fd:{fd}"
        memfd = _trust.is_memfd(own, what)
        cap = _trust.check(own, what, trust_uids, trust_gids, allow_world_write, max_file_size, check_mode=not memfd)
        if memfd:
            _trust.check_sealed(own, what)
        return Ring(own, what, timeout, cap)
    except BaseException:
        os.close(own)
        raise
