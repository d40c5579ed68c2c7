"""The checks of arguments a caller passes, made on entry, before anything
waits or is read: a wrong type is Python's own TypeError, a value of the
right type that means nothing is InvalidError, as for Go's ErrInvalid."""

import decimal
import numbers

from .errors import InvalidError


def timeout(t):
    """t as a call's timeout: None (no limit) or a number of seconds (any
    real number, a Decimal included; a bool is not one)."""
    if t is None:
        return t
    if isinstance(t, bool) or not isinstance(t, (numbers.Real, decimal.Decimal)):
        raise TypeError(f"timeout must be None or a number of seconds, not {type(t).__name__}")
    if t != t:
        raise InvalidError("ring: timeout=nan")
    return t


def open_timeout(t):
    """t as an open's timeout: a number of seconds. None is no limit
    elsewhere, but not here: a file whose creator died before marking it
    ready would be waited for for ever."""
    if t is None:
        raise TypeError("open timeout must be a number of seconds: None would wait for ever on a ring whose creator died")
    timeout(t)
    if t == float("inf"):
        raise InvalidError("ring: open timeout=inf: it would wait for ever on a ring whose creator died")
    return t


def flag(v, what):
    """v as a yes or no: a bool, nothing else (a "False" read from a
    configuration file is true to Python, and would turn a check off)."""
    if not isinstance(v, bool):
        raise TypeError(f"{what} must be a bool, not {type(v).__name__}")
    return v


def writable(buf):
    """Check that buf is a writable buffer, for recv_into, and let go of
    the view at once: a view held across the wait would keep a bytearray
    from being resized, in an except clause for EmptyError say."""
    with memoryview(buf) as mv:  # TypeError for an object without the buffer protocol
        if mv.readonly:
            raise TypeError(f"recv_into needs a writable buffer, not a read-only {type(buf).__name__}")


def ids(xs, what):
    """xs as a tuple of uids or gids (ints)."""
    xs = tuple(xs or ())
    for x in xs:
        if isinstance(x, bool) or not isinstance(x, numbers.Integral):
            raise TypeError(f"{what} holds ids (ints), not {type(x).__name__}")
    return tuple(int(x) for x in xs)


def max_file_size(v, default):
    """v as the largest file an open maps: None or 0 is the default; a
    negative one is InvalidError, as Go's OpenOptions.MaxFileSize."""
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"max_file_size must be a number of bytes, not {type(v).__name__}")
    if v < 0 or v != v:
        raise InvalidError(f"ring: max_file_size={v}: want a size in bytes (0 or None: the default)")
    return int(v) or default


def choice(v, what, allowed):
    """v as one of the allowed strings."""
    if not isinstance(v, str):
        raise TypeError(f"{what} must be a str, not {type(v).__name__}")
    if v not in allowed:
        raise InvalidError(f"ring: {what}={v!r}, want " + " or ".join(repr(a) for a in allowed))
    return v
