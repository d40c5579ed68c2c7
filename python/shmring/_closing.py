"""A call racing Ring.close() on another thread: the mapping's views are
released and the descriptor closed under it, so what it meets is Python's
ValueError (a released memoryview) or OSError (a closed descriptor). Go
promises ErrClosed for this; the public calls of the handles say
ClosedError too."""

import functools

from .errors import ClosedError, ShmringError


def closed_as_error(call):
    """Wrap a handle's public call: a ValueError or OSError met because its
    ring was closed meanwhile becomes ClosedError."""

    @functools.wraps(call)
    def wrapped(self, *args, **kwargs):
        try:
            return call(self, *args, **kwargs)
        except ShmringError:
            raise
        except (ValueError, OSError) as e:
            if self._ring.closed:
                raise ClosedError("ring: closed during the call") from e
            raise

    return wrapped


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
