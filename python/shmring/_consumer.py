"""The SPSC consumer (LAYOUT.md section 8, "Consumer")."""

from . import _args
from . import _layout as L
from ._closing import await_calls, closed_as_error, let_go, let_go_role
from ._endpoint import _Endpoint
from . import _sys
from .errors import ClosedError, CorruptError, EmptyError, InvalidError, ShortBufferError


class Consumer(_Endpoint):
    """The SPSC read side. One live consumer per ring, across all processes
    and languages. Use it from one thread at a time.

    timeout, for every call that may wait: None waits until there is a
    message, the stream ends (ClosedError) or the producer dies
    (PeerDeadError); 0 never waits (EmptyError; a caller that keeps polling
    so has the producer's liveness probed once a tick, and gets
    PeerDeadError once what a dead producer published was received); a
    number of seconds bounds the wait (ShmringTimeout). Once a call raised
    PeerDeadError, every later one that finds nothing to take raises it
    again at once (a waiting one before it waits), until a new process
    takes the producer role, as in Go."""

    def __init__(self, ring):
        super().__init__(ring, producer=False)
        tail, prod = self._u64[self._own.cursor >> 3], self._u64[self._peer.cursor >> 3]
        if tail > prod or prod - tail > self._slots:
            let_go_role(self)
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
        self._need, self._floor = tail + 1, self._avail
        self._closed_short()
        if timeout == 0:
            self._wait.polled()
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

    @closed_as_error
    def recv(self, timeout=None):
        """The next message, copied into a new bytes object, and released."""
        _args.timeout(timeout)
        if self._tail >= self._avail or self._held is not None:
            self._fill(timeout)
        off, n = self._slot()
        data = self._mm[off : off + n]
        self._intact()  # after the copy: it may hold zeroed bytes
        self.messages += 1
        self.bytes += n
        self._publish(self._tail + 1)
        return data

    @closed_as_error
    def recv_into(self, buf, timeout=None):
        """Copy the next message into buf (a writable bytes-like object) and
        release it; return its length. ShortBufferError leaves it in the ring."""
        _args.timeout(timeout)
        _args.writable(buf)
        if self._tail >= self._avail or self._held is not None:
            self._fill(timeout)
        off, n = self._slot()
        mv = memoryview(buf).cast("B")  # any C-contiguous writable buffer, by bytes
        if n > mv.nbytes:
            raise ShortBufferError(n, mv.nbytes)
        mv[:n] = self._ring.mv[off : off + n]
        self._intact()  # after the copy: it may hold zeroed bytes
        self.messages += 1
        self.bytes += n
        self._publish(self._tail + 1)
        return n

    @closed_as_error
    def receive(self, timeout=None):
        """Zero copy: the next message as a read-only memoryview of the slot
        itself, valid until release(), which releases the view (using it
        afterwards raises ValueError). The producer cannot reuse the slot
        before. A view made from it (a slice) is a view of the mapping of its
        own, which release() cannot end: it reads whatever the slot holds
        later. Copy what must outlive the lease."""
        _args.timeout(timeout)
        if self._tail >= self._avail or self._held is not None:
            self._fill(timeout)
        off, n = self._slot()
        self._intact()  # before the slot is handed out
        view = self._ring.mv[off : off + n].toreadonly()
        self._held, self._held_n = view, n  # the length kept: the caller may end the view (with) before release
        return view

    @closed_as_error
    def release(self):
        """End the lease receive() gave and free the slot."""
        if self._closed or self._ring.closed:
            raise ClosedError("ring: consumer closed")
        if self._held is None:
            raise InvalidError("ring: release without a received message")
        n = self._held_n
        let_go(self._held)
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
            if getattr(self, "_forked_copy", False):
                raise  # not an end of stream: a forked child's copy (_ring.py)
            return

    def views(self, timeout=None):
        """Zero-copy leases until the end of the stream: each view is released
        when the next is asked for, or when the loop is left early (break:
        the generator is closed)."""
        _args.timeout(timeout)  # on the call, not at the first next()
        return self._views(timeout)

    def _views(self, timeout):
        try:
            while True:
                v = self.receive(timeout)
                try:
                    yield v
                finally:
                    if self._held is v:
                        self.release()
        except ClosedError:
            if getattr(self, "_forked_copy", False):
                raise  # not an end of stream: a forked child's copy (_ring.py)
            return

    def close(self):
        """Give the role up; messages not released stay for the next consumer."""
        with self._ring.close_lock:
            if self._closed:
                return
            self._closed = True
            await_calls(self)  # a call in progress on another thread leaves first
            let_go(self._held)
            self._held = None
            self._avail = 0  # every later call takes the slow path, which raises ClosedError
            self._detach(0)
            self._ring._handles.discard(self)
