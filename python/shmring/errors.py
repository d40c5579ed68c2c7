"""Exceptions, grouped by the operation that raises them. Every one is a
ShmringError; several are also the builtin a caller would expect
(FileNotFoundError, PermissionError, TimeoutError, EOFError)."""


class ShmringError(Exception):
    """Any failure of this package."""


# Opening.
class InvalidError(ShmringError, ValueError):
    """A bad argument: a name, a policy, a kind of ring the call is not for."""


class NotExistError(ShmringError, FileNotFoundError):
    """No ring file of that name."""


class NotReadyError(ShmringError):
    """The file exists but its creator did not finish it within the timeout."""


class VersionError(ShmringError):
    """A ring file of another layout version (maybe fine for other code)."""


class UnsafeFileError(ShmringError, PermissionError):
    """What sits at the name is not ours to trust (Go: ErrUntrusted); one of
    the four below says which."""


class SymlinkError(UnsafeFileError):
    """The name is a symbolic link; no link is followed."""


class NotRegularError(UnsafeFileError):
    """The name is a directory, FIFO, socket or device."""


class ForeignOwnerError(UnsafeFileError):
    """The file belongs to a user that is neither this process's effective
    uid nor in trust_uids."""


class InsecureModeError(UnsafeFileError):
    """Others may write the file: world-writable without allow_world_write,
    or group-writable by a group not in trust_gids."""


class UnsealedError(UnsafeFileError):
    """A memfd handed over that is not sealed against shrinking (Go's
    ring.ErrUnsealed): any holder could cut pages from under the mapping."""


class UnsupportedError(ShmringError):
    """A valid ring this package does not handle: a record ring (at open), or
    the producer role of a ring with telemetry (this package stores no
    latency stamps); Go handles both. Also: /proc is not mounted, through
    which a ring's roles and handed-over descriptors are reached."""


class FileTooBigError(ShmringError):
    """The file, or the size its header states, is larger than
    max_file_size: nothing was mapped."""


class CorruptError(ShmringError):
    """Bytes no correct peer writes, in the file or the live mapping."""


class BadMagicError(CorruptError):
    """Not a shmring file."""


class GeometryError(CorruptError):
    """Header fields that do not add up."""


class ChecksumError(CorruptError):
    """The header's checksum does not match."""


class ReadyWordError(CorruptError):
    """The ready word is neither 0 nor the ready value."""


class ShortFileError(CorruptError):
    """A file shorter than a ring header."""


class SizeError(CorruptError):
    """The file is larger than its header says (grown, or foreign)."""


class TruncatedError(CorruptError):
    """The file was shrunk (a peer called ftruncate): a reader found the end
    mark gone, or the opener found the file shorter than its header says.
    The ring is dead for every process; a damaged message is never
    delivered."""


# Roles.
class BusyError(ShmringError):
    """The role is held by a live process."""


# Sending and receiving.
class EmptyError(ShmringError):
    """A non-blocking receive found no message."""


class FullError(ShmringError):
    """A non-blocking send found no free slot."""


class ShmringTimeout(ShmringError, TimeoutError):
    """The timeout passed."""


class ClosedError(ShmringError, EOFError):
    """The producer closed the stream and every message was received; also any
    call on a closed handle."""


class PeerDeadError(ShmringError):
    """The other side's process died (its liveness lock is gone)."""


class LappedError(ShmringError):
    """A lossy broadcast reader was overrun; `missed` messages are gone and
    the next call goes on after them."""

    def __init__(self, missed, msg=None):
        super().__init__(msg or f"ring: reader lapped: missed {missed} messages")
        self.missed = missed

    def __reduce__(self):  # pickled (multiprocessing) with its count, not its text alone
        return (type(self), (self.missed, str(self)))


class TooLargeError(ShmringError, ValueError):
    """A message larger than the ring's slot size."""


class NegativeLengthError(InvalidError, TooLargeError):
    """A negative commit length: invalid, and a TooLargeError as well, as
    Go's error for it is both ErrInvalid and ErrTooLarge."""


class ShortBufferError(ShmringError, ValueError):
    """The message does not fit the buffer given; it stays in the ring.
    `length` is the message's length, what a buffer must hold (as C's recv
    gives it in *n), and `buffer` the size of the one given."""

    def __init__(self, length, buffer, msg=None):
        super().__init__(msg or f"ring: message={length} bytes, buffer={buffer}")
        self.length = length
        self.buffer = buffer

    def __reduce__(self):  # pickled (multiprocessing) with its sizes, not its text alone
        return (type(self), (self.length, self.buffer, str(self)))
