"""What an SPSC consumer and producer share (LAYOUT.md sections 7-11).

Memory model: every shared word is one aligned native load or store through
memoryview casts (one instruction each); under x86-64's ordering (TSO) a
store is a release store and a load an acquire load, which is all the data
path needs. The StoreLoad fence of the sleeper handshake is membarrier:
this process registers for it and says so with FLAG_RELEASE_STORES, so a
peer about to sleep forces it on us."""

import os
import weakref

from . import _layout as L
from . import _sys
from ._wait import Waiter, weak
from ._closing import await_calls, dropped, hold_role, let_go_role
from .errors import ClosedError, CorruptError, InvalidError, PeerDeadError

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
        self._lock = None
        hold_role(self, ring, self._own.lock_byte)  # from now on close() (or Ring._take) lets the lock go
        self._pid = os.getpid()  # a forked child's copy of the handle is not the role
        info = ring.info
        self._mm, self._u32, self._u64 = ring._mm, ring.u32, ring.u64
        self._base, self._mask, self._slots = info.slots_offset, info.slot_count - 1, info.slot_count
        self._stride, self._slot_size = info.slot_stride, info.slot_size
        # The peer's cursor as last adopted, set before a wait: it only
        # grows, so a probe that finds it lower raises CorruptError
        # (LAYOUT.md section 10).
        self._floor = 0
        self._intact = ring.check_intact
        self._release = _sys.register_release()
        self._closed = False
        self._calls, self._caller = 0, None  # calls in progress, and whose (_closing)
        self.messages = self.bytes = 0

    def __del__(self):
        dropped(self)

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
        self._ring.futex_wake(self._own.wake, _INT_MAX)

    def _detach(self, state):
        """Under the ring's close_lock, from close(): the mapping stays. A
        call in progress on another thread leaves first."""
        self._closed = True
        await_calls(self)
        try:
            if os.getpid() == self._pid:  # in a forked child the role stays the parent's
                self._u32[self._own.state >> 2] = state
                _sys.barrier()  # the state store before the sleepers load
                if self._u32[self._peer.sleepers >> 2]:
                    self._wake_peer()
        except (ValueError, ClosedError):
            if not self._ring.closed:
                raise  # else the Ring's close() ran in a signal handler on this thread, under this one
        finally:
            let_go_role(self)  # the role is let go of whatever happened

    def _probe(self):
        st = self._u32[self._peer.state >> 2]
        if st & ~L.STATE_MASK:
            raise CorruptError(f"ring: {self._peer.name} state={st:#x}")
        if st & L.STATE_ATTACHED and not _sys.lock_held(self._ring._fd, self._peer.lock_byte):
            raise PeerDeadError(f"ring: {self._ring.name}: {self._peer.name} died")
        v = self._u64[self._peer.cursor >> 3]
        if v < self._floor:
            raise CorruptError(f"ring: {self._peer.name} cursor={v} went back below {self._floor}, its value when last seen")

    def _waiter(self, ready, stopped):
        me, stopped = weakref.ref(self), weak(stopped)  # no cycle through the waiter (_wait.weak)

        def stopped_or_closed():
            if me()._closed:  # close() on another thread
                raise ClosedError(f"ring: {me()._own.name} closed")
            stopped()

        return Waiter(self._ring, ready, stopped_or_closed, self._probe, self._peer.wake, self._own.sleepers)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
