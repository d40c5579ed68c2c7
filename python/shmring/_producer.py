"""The SPSC producer (LAYOUT.md section 8, "Producer")."""

import operator

from . import _args
from . import _layout as L
from ._closing import await_calls, closed_as_error, let_go, let_go_role
from ._endpoint import _Endpoint
from . import _sys
from .errors import ClosedError, CorruptError, FullError, InvalidError, NegativeLengthError, TooLargeError, UnsupportedError


class Producer(_Endpoint):
    """The SPSC write side. One live producer per ring, across all processes
    and languages. Use it from one thread at a time; timeouts, and peer
    death said again on every later call, as Consumer's (0 raises
    FullError)."""

    def __init__(self, ring):
        if ring.info.telemetry:
            # LAYOUT.md 16.3: a producer stamps each sampled position before
            # publishing it. This package does not, and a Go consumer would
            # take the stamps of an earlier lap for this message's.
            raise UnsupportedError(
                "ring: producing on a ring with telemetry is not supported by the Python package "
                f"(it stores no latency stamps): flags={ring.info.flags:#x}"
            )
        super().__init__(ring, producer=True)
        head, cons = self._u64[self._own.cursor >> 3], self._u64[self._peer.cursor >> 3]
        if cons > head or head - cons > self._slots:
            let_go_role(self)
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
        self._need, self._floor = self._head - self._slots + 1, self._limit - self._slots
        if timeout == 0:
            self._wait.polled()
            raise FullError("ring: full")
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

    @closed_as_error
    def send(self, msg, timeout=None):
        """Copy msg (bytes-like) into the next free slot and publish it."""
        _args.timeout(timeout)
        if not isinstance(msg, (bytes, bytearray)):
            msg = memoryview(msg)
            if not msg.c_contiguous:  # a strided view: copied, as bytes() would
                msg = msg.tobytes()
        n = len(msg) if isinstance(msg, (bytes, bytearray)) else msg.nbytes
        if n > self._slot_size:
            raise TooLargeError(f"ring: message={n} bytes, slot size={self._slot_size}")
        self._intact()  # a shrunk file: what is published reaches no one
        self._reserve(timeout)
        off = self._base + (self._head & self._mask) * self._stride + L.SLOT_PAYLOAD_OFFSET
        self._mm[off : off + n] = msg
        self._publish(n)

    @closed_as_error
    def claim(self, timeout=None):
        """Zero copy: the next free slot as a writable memoryview (slot size
        bytes); write the message into it, then commit(n) or abort()."""
        _args.timeout(timeout)
        self._reserve(timeout)
        self._intact()  # a shrunk file: the slot's page may be gone, its first write a SIGBUS
        off = self._base + (self._head & self._mask) * self._stride + L.SLOT_PAYLOAD_OFFSET
        self._claimed = self._ring.mv[off : off + self._slot_size]
        return self._claimed

    @closed_as_error
    def commit(self, n):
        """Publish the first n bytes of the claimed slot."""
        if self._closed or self._ring.closed:
            raise ClosedError("ring: producer closed")
        if self._claimed is None:
            raise InvalidError("ring: commit without a claim")
        n = operator.index(n)  # a float or a str is a TypeError, the claim kept
        if n < 0:  # no length (Go: ErrInvalid, and ErrTooLarge too); the claim kept
            raise NegativeLengthError(f"ring: commit length={n}: below 0")
        if n > self._slot_size:
            raise TooLargeError(f"ring: commit length={n}, slot size={self._slot_size}")
        self._end_claim()
        self._intact()  # a shrunk file: the claim ends unpublished
        self._publish(n)

    def abort(self):
        """Drop the open claim; nothing is published."""
        self._end_claim()

    def _end_claim(self):
        let_go(self._claimed)
        self._claimed = None

    def close(self):
        """End the stream: the consumer drains it, then gets ClosedError."""
        with self._ring.close_lock:
            if self._closed:
                return
            self._closed = True
            await_calls(self)  # a call in progress on another thread leaves first
            self._end_claim()
            self._limit = 0  # every later call takes the slow path, which raises ClosedError
            self._detach(L.STATE_CLOSED)
            self._ring._handles.discard(self)
