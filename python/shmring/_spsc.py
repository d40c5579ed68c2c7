"""SPSC consumer and producer (LAYOUT.md sections 7-11).

Memory model: every shared word is one aligned native load or store through
memoryview casts (one instruction each); under x86-64's ordering (TSO) a
store is a release store and a load an acquire load, which is all the data
path needs. The StoreLoad fence of the sleeper handshake is membarrier:
this process registers for it and says so with FLAG_RELEASE_STORES, so a
peer about to sleep forces it on us."""

from . import _layout as L
from . import _sys
from ._wait import Waiter
from .errors import (
    ClosedError,
    CorruptError,
    EmptyError,
    FullError,
    InvalidError,
    PeerDeadError,
    ShortBufferError,
    TooLargeError,
)

_INT_MAX = 0x7FFFFFFF


class _Side:
    __slots__ = ("cursor", "wake", "sleepers", "state", "epoch", "flags", "lock_byte", "name")

    def __init__(self, producer):
        if producer:
            self.cursor, self.wake, self.sleepers = L.PRODUCER_CURSOR_OFFSET, L.PRODUCER_WAKE_OFFSET, L.PRODUCER_SLEEPERS_OFFSET
            self.state, self.epoch, self.flags = L.PRODUCER_STATE_OFFSET, L.PRODUCER_EPOCH_OFFSET, L.PRODUCER_FLAGS_OFFSET
            self.lock_byte, self.name = L.PRODUCER_LOCK_BYTE, "producer"
        else:
            self.cursor, self.wake, self.sleepers = L.CONSUMER_CURSOR_OFFSET, L.CONSUMER_WAKE_OFFSET, L.CONSUMER_SLEEPERS_OFFSET
            self.state, self.epoch, self.flags = L.CONSUMER_STATE_OFFSET, L.CONSUMER_EPOCH_OFFSET, L.CONSUMER_FLAGS_OFFSET
            self.lock_byte, self.name = L.CONSUMER_LOCK_BYTE, "consumer"


class _Endpoint:
    """What both sides share: geometry from the validated header (never
    re-read), each side's words, the role lock."""

    def __init__(self, ring, producer):
        if ring.kind != L.KIND_SPSC:
            raise InvalidError(f"ring: kind={ring.kind}: producers and consumers of this package are for spsc rings")
        self._ring = ring
        self._own, self._peer = _Side(producer), _Side(not producer)
        self._lock = _sys.lock(ring._fd, self._own.lock_byte)
        info = ring.info
        self._mm, self._u32, self._u64 = ring._mm, ring.u32, ring.u64
        self._base, self._mask, self._slots = info.slots_offset, info.slot_count - 1, info.slot_count
        self._stride, self._slot_size = info.slot_stride, info.slot_size
        self._release = _sys.register_release()
        self._closed = False
        self.messages = self.bytes = 0

    def _announce(self):
        u32, own = self._u32, self._own
        u32[own.flags >> 2] = L.FLAG_RELEASE_STORES if self._release else 0
        u32[own.epoch >> 2] = (u32[own.epoch >> 2] + 1) & 0xFFFFFFFF
        u32[own.state >> 2] = L.STATE_ATTACHED  # a new producer also reopens a closed stream

    def _wake_peer(self):
        # Clearing the flag first makes it one wake per sleep. The clear is
        # not atomic, but the bump below is (FUTEX_WAKE_OP), and it follows
        # the clear: a sleeper whose announcement this erased read the wake
        # word before announcing, so its wait returns at once.
        self._u32[self._peer.sleepers >> 2] = 0
        _sys.wake_bump(self._ring.address + self._own.wake, _INT_MAX)

    def _detach(self, state):
        self._closed = True
        self._u32[self._own.state >> 2] = state
        _sys.barrier()  # the state store before the sleepers load
        if self._u32[self._peer.sleepers >> 2]:
            self._wake_peer()
        _sys.os_close(self._lock)

    def _probe(self):
        st = self._u32[self._peer.state >> 2]
        if st & ~L.STATE_MASK:
            raise CorruptError(f"ring: {self._peer.name} state={st:#x}")
        if st & L.STATE_ATTACHED and not _sys.lock_held(self._ring._fd, self._peer.lock_byte):
            raise PeerDeadError(f"ring: {self._ring.name}: {self._peer.name} died")

    def _waiter(self, ready, stopped):
        return Waiter(self._ring, ready, stopped, self._probe, self._peer.wake, self._own.sleepers)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Consumer(_Endpoint):
    """The SPSC read side. One live consumer per ring, across all processes
    and languages. Use it from one thread at a time.

    timeout, for every call that may wait: None waits until there is a
    message, the stream ends (ClosedError) or the producer dies
    (PeerDeadError); 0 never waits (EmptyError); a number of seconds bounds
    the wait (ShmringTimeout)."""

    def __init__(self, ring):
        super().__init__(ring, producer=False)
        tail, prod = self._u64[self._own.cursor >> 3], self._u64[self._peer.cursor >> 3]
        if tail > prod or prod - tail > self._slots:
            _sys.os_close(self._lock)
            raise CorruptError(f"ring: consumer cursor={tail} producer cursor={prod} slots={self._slots}")
        self._tail = self._avail = tail
        self._held = None
        self._need = 0
        self._wait = self._waiter(self._data_ready, self._closed_short)
        self._announce()

    def _data_ready(self):
        return self._u64[self._peer.cursor >> 3] >= self._need

    def _closed_short(self):
        """The producer closed the stream and its cursor stays short of need.
        State is loaded before the cursor: the producer stores its last
        cursor before its closed state."""
        st = self._u32[self._peer.state >> 2]
        if st & ~L.STATE_MASK:
            raise CorruptError(f"ring: producer state={st:#x}")
        if st & L.STATE_CLOSED and self._u64[self._peer.cursor >> 3] < self._need:
            raise ClosedError(f"ring: end of stream at position={self._tail}")

    def _adopt(self, prod):
        if prod < self._avail or prod - self._tail > self._slots:
            raise CorruptError(f"ring: producer cursor={prod}, consumer tail={self._tail}, known published below={self._avail}")
        self._avail = prod

    def _fill(self, timeout):
        """Make the message at tail readable, waiting up to timeout."""
        if self._closed:
            raise ClosedError("ring: consumer closed")
        if self._held is not None:
            raise InvalidError("ring: receive while holding a message: release it first")
        tail = self._tail
        # The slot's seq says it is published without touching the cursor's
        # line; only equality is trusted.
        if self._u32[(self._base + (tail & self._mask) * self._stride + L.SLOT_SEQ_OFFSET) >> 2] == (tail + 1) & 0xFFFFFFFF:
            self._avail = tail + 1
            return
        self._adopt(self._u64[self._peer.cursor >> 3])
        if tail < self._avail:
            return
        self._need = tail + 1
        self._closed_short()
        if timeout == 0:
            raise EmptyError("ring: empty")
        self._wait.wait(timeout)
        prod = self._u64[self._peer.cursor >> 3]
        self._adopt(prod)
        if tail >= self._avail:  # the wait saw it published; cursors only grow
            raise CorruptError(f"ring: producer cursor={prod} does not cover position={tail}")

    def _slot(self):
        """The slot at tail and its length, read once and bounds-checked."""
        s = self._base + (self._tail & self._mask) * self._stride
        n = self._u32[s >> 2]
        if n > self._slot_size:
            raise CorruptError(f"ring: slot length={n} at position={self._tail}, slot size={self._slot_size}")
        return s + L.SLOT_PAYLOAD_OFFSET, n

    def _publish(self, tail):
        # SYNC POINT: cursor. The slot reads are done; the producer may reuse
        # the slot once it sees this store.
        self._tail = tail
        self._u64[self._own.cursor >> 3] = tail
        if self._u32[self._peer.sleepers >> 2]:
            self._wake_peer()

    def recv(self, timeout=None):
        """The next message, copied into a new bytes object, and released."""
        if self._tail >= self._avail or self._held is not None:
            self._fill(timeout)
        off, n = self._slot()
        data = self._mm[off : off + n]
        self.messages += 1
        self.bytes += n
        self._publish(self._tail + 1)
        return data

    def recv_into(self, buf, timeout=None):
        """Copy the next message into buf (a writable bytes-like object) and
        release it; return its length. ShortBufferError leaves it in the ring."""
        if self._tail >= self._avail or self._held is not None:
            self._fill(timeout)
        off, n = self._slot()
        mv = memoryview(buf)
        if n > mv.nbytes:
            raise ShortBufferError(f"ring: message={n} bytes, buffer={mv.nbytes}")
        mv[:n] = self._ring.mv[off : off + n]
        self.messages += 1
        self.bytes += n
        self._publish(self._tail + 1)
        return n

    def receive(self, timeout=None):
        """Zero copy: the next message as a read-only memoryview of the slot
        itself, valid until release(), which releases the view (using it
        afterwards raises ValueError). The producer cannot reuse the slot
        before."""
        if self._tail >= self._avail or self._held is not None:
            self._fill(timeout)
        off, n = self._slot()
        view = self._ring.mv[off : off + n].toreadonly()
        self._held = view
        return view

    def release(self):
        """End the lease receive() gave and free the slot."""
        if self._held is None:
            raise InvalidError("ring: release without a received message")
        n = self._held.nbytes
        try:
            self._held.release()
        except BufferError:
            pass  # the caller exported it further; the slot is still given back
        self._held = None
        self.messages += 1
        self.bytes += n
        self._publish(self._tail + 1)

    def __iter__(self):
        """Copies of the messages until the end of the stream."""
        try:
            while True:
                yield self.recv()
        except ClosedError:
            return

    def views(self, timeout=None):
        """Zero-copy leases until the end of the stream: each view is released
        when the next is asked for."""
        try:
            while True:
                v = self.receive(timeout)
                yield v
                self.release()
        except ClosedError:
            return

    def close(self):
        """Give the role up; messages not released stay for the next consumer."""
        if self._closed:
            return
        if self._held is not None:
            try:
                self._held.release()
            except BufferError:
                pass
            self._held = None
        self._avail = 0  # every later call takes the slow path, which raises ClosedError
        self._detach(0)
        self._ring._handles.discard(self)


class Producer(_Endpoint):
    """The SPSC write side. One live producer per ring, across all processes
    and languages. Use it from one thread at a time; timeouts as Consumer's
    (0 raises FullError)."""

    def __init__(self, ring):
        super().__init__(ring, producer=True)
        head, cons = self._u64[self._own.cursor >> 3], self._u64[self._peer.cursor >> 3]
        if cons > head or head - cons > self._slots:
            _sys.os_close(self._lock)
            raise CorruptError(f"ring: producer cursor={head} consumer cursor={cons} slots={self._slots}")
        self._head, self._limit = head, cons + self._slots
        self._claimed = None
        self._need = 0
        self._wait = self._waiter(self._space_ready, lambda: None)
        self._announce()

    def _space_ready(self):
        return self._u64[self._peer.cursor >> 3] >= self._need

    def _adopt(self, cons):
        if cons > self._head or cons + self._slots < self._limit:
            raise CorruptError(f"ring: consumer cursor={cons}, producer head={self._head}, known free below={self._limit}")
        self._limit = cons + self._slots

    def _reserve(self, timeout):
        if self._closed:
            raise ClosedError("ring: producer closed")
        if self._claimed is not None:
            raise InvalidError("ring: a claim is open: commit or abort it first")
        if self._head < self._limit:
            return
        self._adopt(self._u64[self._peer.cursor >> 3])
        if self._head < self._limit:
            return
        if timeout == 0:
            raise FullError("ring: full")
        self._need = self._head - self._slots + 1
        self._wait.wait(timeout)
        cons = self._u64[self._peer.cursor >> 3]
        self._adopt(cons)
        if self._head >= self._limit:  # the wait saw it free; cursors only grow
            raise CorruptError(f"ring: consumer cursor={cons} does not free position={self._head}")

    def _publish(self, n):
        s = self._base + (self._head & self._mask) * self._stride
        self._u32[s >> 2] = n
        pos = self._head
        self._head = pos + 1
        self.messages += 1
        self.bytes += n
        # SYNC POINT: cursor and seq. Length and payload are written before
        # both stores; the cursor goes first.
        self._u64[self._own.cursor >> 3] = pos + 1
        if self._u32[self._peer.sleepers >> 2]:
            self._wake_peer()
        self._u32[(s + L.SLOT_SEQ_OFFSET) >> 2] = (pos + 1) & 0xFFFFFFFF

    def send(self, msg, timeout=None):
        """Copy msg (bytes-like) into the next free slot and publish it."""
        n = len(msg) if isinstance(msg, (bytes, bytearray)) else memoryview(msg).nbytes
        if n > self._slot_size:
            raise TooLargeError(f"ring: message={n} bytes, slot size={self._slot_size}")
        self._reserve(timeout)
        off = self._base + (self._head & self._mask) * self._stride + L.SLOT_PAYLOAD_OFFSET
        self._mm[off : off + n] = msg
        self._publish(n)

    def claim(self, timeout=None):
        """Zero copy: the next free slot as a writable memoryview (slot size
        bytes); write the message into it, then commit(n) or abort()."""
        self._reserve(timeout)
        off = self._base + (self._head & self._mask) * self._stride + L.SLOT_PAYLOAD_OFFSET
        self._claimed = self._ring.mv[off : off + self._slot_size]
        return self._claimed

    def commit(self, n):
        """Publish the first n bytes of the claimed slot."""
        if self._claimed is None:
            raise InvalidError("ring: commit without a claim")
        if not 0 <= n <= self._slot_size:
            raise TooLargeError(f"ring: commit length={n}, slot size={self._slot_size}")
        self._end_claim()
        self._publish(n)

    def abort(self):
        """Drop the open claim; nothing is published."""
        self._end_claim()

    def _end_claim(self):
        if self._claimed is not None:
            try:
                self._claimed.release()
            except BufferError:
                pass
            self._claimed = None

    def close(self):
        """End the stream: the consumer drains it, then gets ClosedError."""
        if self._closed:
            return
        self._end_claim()
        self._limit = 0  # every later call takes the slow path, which raises ClosedError
        self._detach(L.STATE_CLOSED)
        self._ring._handles.discard(self)
