"""A broadcast reader (LAYOUT.md sections 14.6 and 14.7).

A slot's 64-bit Seq is a seqlock: 0 never written, p+1 position p published,
(p+1)|SEQ_WRITING being written. A lossy reader copies a message and then
checks Seq again, so it never returns a torn message; the producer waits
only for lossless readers."""

import os

from . import _args
from . import _layout as L
from ._closing import await_calls, closed_as_error, dropped, hold_role, let_go, let_go_role
from . import _sys
from ._wait import Waiter
from .errors import BusyError, ClosedError, CorruptError, EmptyError, InvalidError, LappedError, PeerDeadError, ShortBufferError

_READY, _PENDING, _OVERRUN, _BOGUS = range(4)
_MASK64 = (1 << 64) - 1


class Reader:
    """One reader of a broadcast ring: its own cursor, every message from its
    start on (a lossy one minus those it was lapped over, reported by
    LappedError with the count). Use it from one thread at a time; timeouts,
    and the producer's death said again on every later call, as
    Consumer's."""

    def __init__(self, ring, policy="lossy", start="oldest"):
        if ring.kind != L.KIND_BROADCAST:
            raise InvalidError(f"ring: kind={ring.kind}: readers are for broadcast rings")
        _args.choice(policy, "reader policy", ("lossy", "lossless"))
        _args.choice(start, "reader start", ("oldest", "latest"))
        info = ring.info
        self._ring, self._mm, self._u32, self._u64 = ring, ring._mm, ring.u32, ring.u64
        self._base, self._mask, self._slots = info.slots_offset, info.slot_count - 1, info.slot_count
        self._stride, self._slot_size = info.slot_stride, info.slot_size
        self._lossless = policy == "lossless"
        self._intact = ring.check_intact
        self._release_stores = _sys.register_release()
        self._closed = False
        self._calls, self._caller = 0, None  # calls in progress, and whose (_closing)
        self._held = None
        self.messages = self.bytes = self.laps = self.missed = 0
        self._take_entry(info.max_consumers)
        e, u32, u64 = self._entry, self._u32, self._u64
        # The entry is ours; whatever a dead or hostile holder left is
        # overwritten, the incarnation first.
        u32[(e + L.READER_INCARNATION_OFFSET) >> 2] = (u32[(e + L.READER_INCARNATION_OFFSET) >> 2] + 1) & 0xFFFFFFFF
        u32[(e + L.READER_PID_OFFSET) >> 2] = os.getpid() & 0xFFFFFFFF
        u64[(e + L.READER_RECEIVED_OFFSET) >> 3] = 0
        u64[(e + L.READER_MISSED_OFFSET) >> 3] = 0
        p0 = u64[L.BCAST_CURSOR_OFFSET >> 3]
        if p0 & L.SEQ_WRITING:
            self._abandon(CorruptError(f"ring: broadcast cursor={p0:#x} is no position"))
        q = p0 if start == "latest" else p0 - min(p0, self._slots)
        u64[(e + L.READER_CURSOR_OFFSET) >> 3] = q
        u32[(e + L.READER_POLICY_OFFSET) >> 2] = L.POLICY_LOSSLESS if self._lossless else L.POLICY_LOSSY
        u32[(e + L.READER_STATE_OFFSET) >> 2] = L.READER_ATTACHED
        # SYNC POINT: joining. The barrier makes the entry visible to every
        # producer scan after it; the cursor read after it bounds what scans
        # that missed it let the producer overwrite.
        _sys.barrier()
        p = u64[L.BCAST_CURSOR_OFFSET >> 3]
        if p < p0 or p & L.SEQ_WRITING:
            self._abandon(CorruptError(f"ring: broadcast cursor went from {p0} to {p}"))
        self._q, self._protect = q, p
        self._wait = Waiter(
            ring, self._arrived, self._stopped, self._probe, L.BCAST_WAKE_OFFSET, L.BCAST_SLEEPERS_OFFSET,
            keep_announced=True,  # another reader may sleep on it
            yield_thread=True,
        )

    def _take_entry(self, n):
        for i in range(n):
            e = L.BCAST_READERS_OFFSET + i * L.READER_ENTRY_SIZE
            try:
                hold_role(self, self._ring, e + L.READER_LOCK_BYTE)  # from now on close() (or Ring._take) lets the lock go
                self._pid = os.getpid()  # a forked child's copy of the handle is not the reader
            except BusyError:
                continue
            self._entry = e
            return
        raise BusyError(f"ring: all {n} reader entries held by live readers")

    def _abandon(self, err):
        self._u32[(self._entry + L.READER_STATE_OFFSET) >> 2] = L.READER_FREE
        let_go_role(self)
        raise err

    def _seq(self, q):
        return self._u64[(self._base + (q & self._mask) * self._stride) >> 3]

    def _classify(self, s, q):
        if s == q + 1:
            return _READY
        if s == 0:
            return _PENDING
        v = s & ~L.SEQ_WRITING
        if v == 0 or (v - 1) & self._mask != q & self._mask:
            return _BOGUS
        return _PENDING if v <= q + 1 else _OVERRUN

    def _store_cursor(self):
        """SYNC POINT: reader cursor. Then, for a lossless reader, wake the
        producer if it sleeps gated (it forces our fence with membarrier)."""
        e = self._entry
        self._u64[(e + L.READER_CURSOR_OFFSET) >> 3] = self._q
        self._u64[(e + L.READER_RECEIVED_OFFSET) >> 3] = self.messages
        if self._lossless and self._u32[L.BCAST_GATE_SLEEPERS_OFFSET >> 2]:
            self._wake_producer()

    def _wake_producer(self):
        self._u32[L.BCAST_GATE_SLEEPERS_OFFSET >> 2] = 0
        self._ring.futex_wake(L.BCAST_GATE_WAKE_OFFSET, 1)

    def _overrun(self):
        """Move past q, which the producer overwrote, to a quarter ring past
        the oldest position the ring holds (never past the cursor); a lossy
        reader is told how many it missed (LAYOUT.md 14.6 step 5)."""
        q, p = self._q, self._u64[L.BCAST_CURSOR_OFFSET >> 3]
        if p & L.SEQ_WRITING:
            raise CorruptError(f"ring: broadcast cursor={p:#x} is no position")
        nq, margin = q + 1, max(1, self._slots // 4)
        oldest = p - min(p, self._slots)
        if oldest + margin > nq:
            nq = min(oldest + margin, max(p, q + 1))
        self._q = nq
        missed = nq - q
        if self._lossless and q < self._protect and self.messages == 0:
            self._store_cursor()  # a joiner's start moved on: it delivered nothing yet
            return
        self.laps += 1
        self.missed += missed
        self._u64[(self._entry + L.READER_MISSED_OFFSET) >> 3] = self.missed & _MASK64
        self._store_cursor()
        if self._lossless and q >= self._protect:
            raise CorruptError(f"ring: lossless reader overrun at position={q}, missed {missed}")
        raise LappedError(missed)  # a lossy reader's lap, or a hole in what a joiner delivered

    def _peek(self):
        """The offset and length (read once, bounds-checked) of the message at
        q, or None when it is not published yet."""
        while True:
            q = self._q
            s = self._seq(q)
            if s != q + 1:
                c = self._classify(s, q)
                if c == _PENDING:
                    return None
                if c == _BOGUS:
                    raise CorruptError(f"ring: broadcast slot seq={s:#x} at position={q}")
                self._overrun()
                continue
            off = self._base + (q & self._mask) * self._stride
            n = self._u32[(off + L.BCAST_SLOT_LENGTH_OFFSET) >> 2]
            if n > self._slot_size:
                if self._seq(q) != q + 1:
                    continue  # overwritten while we looked
                raise CorruptError(f"ring: broadcast slot length={n} at position={q}, slot size={self._slot_size}")
            return off + L.BCAST_SLOT_PAYLOAD_OFFSET, n

    def _arrived(self):
        return self._classify(self._seq(self._q), self._q) != _PENDING

    def _consistent(self):
        p = self._u64[L.BCAST_CURSOR_OFFSET >> 3]
        # A reader goes by each slot's seq, stored before the cursor that
        # covers a batch: up to a ring past the cursor, never further.
        if p & L.SEQ_WRITING or p + self._slots < self._q:
            raise CorruptError(f"ring: broadcast cursor={p:#x} with the reader at position={self._q}")
        if p > self._q and not p & L.SEQ_WRITING and not self._arrived():
            raise CorruptError(f"ring: broadcast cursor={p} but position={self._q} not published")

    def _stopped(self):
        if self._closed:  # close() on another thread
            raise ClosedError("ring: reader closed")
        self._closed_short()

    def _closed_short(self):
        st = self._u32[L.BCAST_PRODUCER_STATE_OFFSET >> 2]
        if st & ~L.STATE_MASK:
            raise CorruptError(f"ring: broadcast producer state={st:#x}")
        if st & L.STATE_CLOSED:
            if self._u64[L.BCAST_CURSOR_OFFSET >> 3] <= self._q:
                raise ClosedError(f"ring: end of stream at position={self._q}")
            self._consistent()

    def _probe(self):
        st = self._u32[L.BCAST_PRODUCER_STATE_OFFSET >> 2]
        if st & ~L.STATE_MASK:
            raise CorruptError(f"ring: broadcast producer state={st:#x}")
        if st & L.STATE_ATTACHED and not _sys.lock_held(self._ring._fd, L.BCAST_PRODUCER_LOCK_BYTE):
            raise PeerDeadError(f"ring: {self._ring.name}: broadcast producer died")
        self._consistent()

    def _next(self, timeout):
        if self._closed:
            raise ClosedError("ring: reader closed")
        if self._held is not None:
            raise InvalidError("ring: receive while holding a message: release it first")
        while True:
            got = self._peek()
            if got is not None:
                return got
            if timeout == 0:
                self._closed_short()
                self._wait.polled()
                raise EmptyError("ring: empty")
            self._wait.wait(timeout)

    def _validate(self, q):
        """The seqlock's second load; the payload loads came first (x86-64
        does not reorder loads with loads)."""
        return self._seq(q) == q + 1

    @closed_as_error
    def recv(self, timeout=None):
        """The next message, copied and validated: never torn."""
        _args.timeout(timeout)
        while True:
            off, n = self._next(timeout)
            q = self._q
            data = self._mm[off : off + n]
            if (not self._lossless or q < self._protect) and not self._validate(q):
                continue  # _peek reports the overrun
            self._intact()  # after the copy: it may hold zeroed bytes
            self._q = q + 1
            self.messages += 1
            self.bytes += n
            self._store_cursor()
            return data

    @closed_as_error
    def recv_into(self, buf, timeout=None):
        """Copy the next message into buf; return its length."""
        _args.timeout(timeout)
        _args.writable(buf)
        while True:
            off, n = self._next(timeout)
            q = self._q
            check = not self._lossless or q < self._protect
            mv = memoryview(buf).cast("B")  # any C-contiguous writable buffer, by bytes, taken after the wait
            if n > mv.nbytes:
                if check and not self._validate(q):
                    continue
                raise ShortBufferError(n, mv.nbytes)
            mv[:n] = self._ring.mv[off : off + n]
            if check and not self._validate(q):
                continue
            self._intact()  # after the copy: it may hold zeroed bytes
            self._q = q + 1
            self.messages += 1
            self.bytes += n
            self._store_cursor()
            return n

    @closed_as_error
    def receive(self, timeout=None):
        """Zero copy: the next message as a read-only memoryview of the slot,
        valid until release(). A lossy reader's lease is optimistic: release()
        raises LappedError when the producer overwrote it meanwhile, and what
        was read must be discarded. A lossless reader still reading what was
        published before it joined gets a validated copy."""
        _args.timeout(timeout)
        while True:
            off, n = self._next(timeout)
            q = self._q
            if not self._lossless or q >= self._protect:
                self._intact()  # before the slot is handed out
                view = self._ring.mv[off : off + n].toreadonly()
            else:
                view = memoryview(self._mm[off : off + n])
                if not self._validate(q):
                    continue
                self._intact()  # after the copy
            self._held, self._held_n = view, n  # the length kept: the caller may end the view (with) before release
            return view

    @closed_as_error
    def release(self):
        """End the lease and move past the message (LappedError: it was
        overwritten while leased)."""
        if self._closed or self._ring.closed:
            raise ClosedError("ring: reader closed")
        if self._held is None:
            raise InvalidError("ring: release without a received message")
        n = self._held_n
        let_go(self._held)
        self._held = None
        q = self._q
        if not self._lossless and not self._validate(q):
            self._overrun()
        self._q = q + 1
        self.messages += 1
        self.bytes += n
        self._store_cursor()

    @property
    def lag(self):
        """Messages published that this reader has not consumed yet (0 once
        it or its ring is closed, as Go's Lag)."""
        if self._closed or self._ring.closed:
            return 0
        p = self._u64[L.BCAST_CURSOR_OFFSET >> 3]
        return p - self._q if p > self._q and not p & L.SEQ_WRITING else 0

    def __iter__(self):
        """Copies of the messages until the end of the stream. A lap raises
        LappedError out of the loop; iterate again to go on after the gap."""
        try:
            while True:
                yield self.recv()
        except ClosedError:
            if getattr(self, "_forked_copy", False):
                raise  # not an end of stream: a forked child's copy (_ring.py)
            return

    def __del__(self):
        dropped(self)

    def close(self):
        """Leave the ring: a lossless reader stops gating the producer."""
        with self._ring.close_lock:  # the ring's close() does not unmap under it
            if self._closed:
                return
            self._closed = True
            await_calls(self)  # a call in progress on another thread leaves first
            let_go(self._held)
            self._held = None
            try:
                if os.getpid() == self._pid:  # in a forked child the entry stays the parent's
                    self._u32[(self._entry + L.READER_STATE_OFFSET) >> 2] = L.READER_FREE
                    _sys.barrier()  # the state store before the sleepers load
                    if self._u32[L.BCAST_GATE_SLEEPERS_OFFSET >> 2]:
                        self._wake_producer()
            except (ValueError, ClosedError):
                if not self._ring.closed:
                    raise  # else the Ring's close() ran in a signal handler on this thread, under this one
            finally:
                let_go_role(self)  # the entry is let go of whatever happened
            self._ring._handles.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
