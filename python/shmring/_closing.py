"""A call racing a close() on another thread. Ring.close() releases the
mapping's views and closes the descriptor under it, so what it meets is
Python's ValueError (a released memoryview) or OSError (a closed
descriptor): Go promises ErrClosed for this, and the public calls of the
handles say ClosedError too. A handle's own close() marks it closed, which
a waiting call notices within a tick, and waits for the call to leave
before it gives the role up: a call that went on would store a cursor for a
role another process may hold by then."""

import functools
import os
import threading
import time

_get_ident = threading.get_ident

from . import _sys
from .errors import ClosedError, ShmringError, TruncatedError

# roles guards taking and letting go of a role's lock against os.fork(): the
# hooks in _ring.py hold it across a fork, so that a child finds every lock
# its parent holds listed in a Ring's handles, and lets go of its copy. A
# fork between a lock taken and its handle listed left the child holding
# the role for as long as it lived. Reentrant: a collected handle lets go
# of its role from whatever the collecting thread was doing.
roles = threading.RLock()


def hold_role(handle, ring, byte):
    """Take the role lock on byte for handle and list handle in ring's
    handles, with no fork in between (BusyError when a live process holds
    it)."""
    with roles:
        handle._lock = _sys.lock(ring._fd, byte)
        ring._handles.add(handle)


def closed_as_error(call):
    """Wrap a handle's public call: a ValueError or OSError met because its
    ring was closed meanwhile becomes ClosedError, once the ring was found
    truncated every call is TruncatedError at once, and a forked child's
    copy of a handle (_ring.py) is ClosedError saying so."""

    @functools.wraps(call)
    def wrapped(self, *args, **kwargs):
        if self._closed and getattr(self, "_forked_copy", False):
            raise ClosedError(
                "ring: this handle is a copy os.fork() made: the role stays the parent process's; take one anew in this process"
            )
        if self._ring.truncated and not (self._closed or self._ring.closed):  # told once: the pages past the cut are gone
            raise TruncatedError(f"ring: {self._ring.name}: the file was found shrunk earlier: the ring is dead for every process")
        self._calls += 1
        self._caller = _get_ident()
        try:
            return call(self, *args, **kwargs)
        except ShmringError:
            raise
        except (ValueError, OSError) as e:
            if self._ring.closed or self._closed:
                raise ClosedError("ring: closed during the call") from e
            raise
        finally:
            self._calls -= 1

    return wrapped


# How long a handle's close() waits for a call in progress on another
# thread to leave (a waiting call notices within a tick).
_CALL_DRAIN = 1.0


def await_calls(handle):
    """Wait until no call of handle is in progress on another thread (one on
    this thread is the one a signal handler's close() interrupted)."""
    if not handle._calls or handle._caller == threading.get_ident():
        return
    deadline = time.monotonic() + _CALL_DRAIN
    while handle._calls and time.monotonic() < deadline:
        time.sleep(0.001)


def let_go(view):
    """Release a view of the mapping handed to the caller (None: nothing
    to do). If the caller made views of it (slices), those keep the buffer,
    and the slot is given back all the same."""
    if view is None:
        return
    try:
        view.release()
    except BufferError:
        pass


def dropped(handle):
    """A handle's __del__: one nobody closed gives its role up with it, as
    a Ring's collection does (the kernel drops the lock with its last
    descriptor)."""
    if getattr(handle, "_lock", None) is not None:
        let_go_role(handle)


def let_go_role(handle):
    """Close handle's role lock descriptor, once: the role is given up (the
    kernel drops the lock with its last descriptor). Whatever else stopped
    a close() or a constructor half-way, this still runs."""
    handle._closed = True
    with roles:  # no fork between the field cleared and the descriptor closed
        lock, handle._lock = handle._lock, None
        if lock is not None:
            os.close(lock)
