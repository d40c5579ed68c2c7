"""The one wait loop (LAYOUT.md section 10): spin, yield, then futex sleeps
of at most a tick with the announce / fence / re-check handshake, probing the
peer's liveness after a sleep that timed out."""

import os
import time
import weakref

from . import _sys
from .errors import InvalidError, PeerDeadError, ShmringTimeout

SPIN = 256  # polls before yielding (each costs far more in Python than in Go)
YIELD = 16  # polls, each after sched_yield for a broadcast reader (see yield_thread)
TICK = 0.010  # longest sleep between liveness probes (Go: ring.DefaultTick)
NO_BARRIER = 0.001  # sleep cap when membarrier is unavailable


def weak(f):
    """f, a handle's bound method, without a strong reference to the
    handle: a handle holds its Waiter, and a Waiter holding the handle made
    a cycle, which kept a handle and Ring dropped together, and the role's
    lock, until the cycle collector ran. A Waiter is only used inside a
    call of its handle, so the handle is there whenever f is called."""
    if getattr(f, "__self__", None) is None:
        return f
    ref = weakref.WeakMethod(f)
    return lambda: ref()()


class Waiter:
    """What one role waits with. ready() -> bool (may raise CorruptError);
    each round of sleeping checks the ring's end mark (TruncatedError);
    stopped() raises when waiting is pointless (end of stream); probe()
    raises PeerDeadError or CorruptError. wake_off is the futex word (the
    peer's), sleepers_off where this side announces itself."""

    __slots__ = ("ring", "ready", "stopped", "probe", "wake_off", "sleepers_off", "keep_announced", "yield_thread", "sleeps", "next_probe", "found_dead")

    def __init__(self, ring, ready, stopped, probe, wake_off, sleepers_off, keep_announced=False, yield_thread=False):
        self.ring = ring
        self.ready = weak(ready)
        self.stopped = weak(stopped)
        self.probe = weak(probe)
        self.wake_off = wake_off
        self.sleepers_off = sleepers_off
        self.keep_announced = keep_announced
        # A broadcast reader yields its thread between polls, as Go's does;
        # an SPSC side only polls (on a busy machine a yielded CPU can be
        # gone for a whole time slice while the ring fills).
        self.yield_thread = yield_thread
        self.sleeps = 0
        self.next_probe = 0.0  # time.monotonic() of polled()'s next probe
        # found_dead: the last probe found the peer dead. Until a probe finds
        # otherwise (a new process took the role), every failed call probes
        # at once and a waiting one before it waits, so that each raises
        # PeerDeadError, not EmptyError (FullError) until a tick has passed
        # (Go: the handle's foundDead).
        self.found_dead = False

    def polled(self):
        """A call that does not wait (timeout=0) found nothing to do: probe
        the peer at most once a tick (on every call while it is found dead),
        so that a caller polling in its own loop hears of its death
        (PeerDeadError) as a waiting one does. The clock is read on every
        such failure, not spaced out as in Go and C (LAYOUT.md section 11):
        a Python call costs far more than a read of it."""
        if not self.found_dead:
            now = time.monotonic()
            if now < self.next_probe:
                return
            self.next_probe = now + TICK
        self.probe_peer()

    def probe_peer(self):
        """probe(), except that a peer found dead while ready() holds (it
        published before it died) is reported once that has been taken.
        The verdict is kept in found_dead."""
        self.found_dead = False
        try:
            self.probe()
        except PeerDeadError:
            if not self.ready():
                self.found_dead = True
                raise

    def wait(self, timeout):
        """Return once ready() holds; raise ShmringTimeout after timeout
        seconds (None: no limit; a negative one is a deadline already
        passed), or what stopped() or probe() raise. NaN is InvalidError."""
        if timeout is not None and timeout != timeout:
            raise InvalidError("ring: timeout=nan")
        if self.found_dead:
            self.probe_peer()
        ready = self.ready
        for _ in range(SPIN):
            if ready():
                return
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in range(YIELD):
            if self.yield_thread:
                os.sched_yield()
            if ready():
                return
            self.stopped()
        u32, wake, sleepers = self.ring.u32, self.wake_off >> 2, self.sleepers_off >> 2
        probe = False
        while True:
            if ready():
                return
            self.stopped()
            self.ring.check_intact()  # a shrunk file: the other side hears of it within a tick
            if probe:
                self.probe_peer()
            sleep = TICK
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ShmringTimeout(f"ring: waited {timeout}s")
                sleep = min(sleep, left)
            # The wake word is read before announcing: a waker that clears
            # the announcement bumps the word after this read, so the wait
            # then returns at once.
            w = u32[wake]
            u32[sleepers] = 1
            # Python has no fence: membarrier is the StoreLoad fence between
            # the announcement and the re-check, and forces one on a peer
            # that publishes with plain release stores. Without it a wake
            # can be missed, so look again soon.
            if not _sys.barrier():
                sleep = min(sleep, NO_BARRIER)
            if ready():
                if not self.keep_announced:
                    u32[sleepers] = 0
                continue
            try:
                self.stopped()
            except BaseException:
                if not self.keep_announced:
                    u32[sleepers] = 0
                raise
            self.sleeps += 1
            probe = self.ring.futex_sleep(self.wake_off, w, sleep)
            if not self.keep_announced:
                u32[sleepers] = 0
