"""shmring from pure Python: read (and write) rings that Go, C or Python
processes share through a file in /dev/shm, with the same liveness locks,
futex wake-ups and validation as the Go package.

    import shmring
    with shmring.open_ring("quotes") as r, r.consumer() as c:
        for msg in c:            # bytes, until the producer closes the stream
            handle(msg)

Zero copy: c.receive() returns a read-only memoryview of the slot itself,
valid until c.release(). Broadcast rings: r.reader("lossless" or "lossy",
"oldest" or "latest"). Blocking calls take timeout= in seconds (None: no
limit, 0: never wait; a negative one is a deadline already passed:
ShmringTimeout unless the call completes at once, where C's negative
timeout waits for ever).

A peer that shrinks the file under a live ring: reads check the ring's end
mark with a system call, so a damaged message is never delivered
(TruncatedError); a page of the mapping that is gone still raises SIGBUS,
which kills the interpreter.

Standard library only (mmap, struct, ctypes for futex and membarrier, fcntl
for the locks); Linux on x86-64.
"""

from ._crc32c import crc32c
from ._header import Info, decode
from ._ring import DEFAULT_MAX_FILE_SIZE, Ring, open_fd, open_ring
from ._reader import Reader
from ._consumer import Consumer
from ._producer import Producer
from .errors import *  # noqa: F401,F403
from . import _layout as layout

__all__ = [
    "open_ring",
    "open_fd",
    "DEFAULT_MAX_FILE_SIZE",
    "Ring",
    "Info",
    "Consumer",
    "Producer",
    "Reader",
    "crc32c",
    "decode",
    "layout",
]
