"""The Python side of the cross-language tests in interop/: each subcommand is
one process of a test, talking to the Go test by lines on stdout and failing
with a message on stderr and exit status 1. Command lines as
c/tests/interop.c's:

    consume RING FIRST COUNT closed      receive and check messages
    bcast   RING lossless|lossy COUNT LAPEVERY
    bench   RING COUNT                   receive COUNT messages, check seq only
    open    PATH [shared]                open and print the verdict
    corrupt PATH                         every single-byte header corruption
"""

import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shmring  # noqa: E402
from codec import check  # noqa: E402


def say(*words):
    print(*words, flush=True)


def fail(msg):
    print(msg, file=sys.stderr, flush=True)
    sys.exit(1)


def consume(name, first, count, end):
    first, count = int(first), int(count)
    with shmring.open_ring(name) as r:
        c = r.consumer()
        say("ready")
        max_len = r.slot_size
        pick = random.Random(first ^ count)
        buf = bytearray(max_len)
        seq = first
        while seq < first + count:
            way = pick.randrange(3)
            try:
                if way == 0:
                    m = c.receive()
                    why = check(m, seq, max_len)
                    c.release()
                elif way == 1:
                    n = c.recv_into(buf)
                    why = check(buf[:n], seq, max_len)
                else:
                    try:
                        why = check(c.recv(timeout=0), seq, max_len)
                    except shmring.EmptyError:
                        continue
            except shmring.PeerDeadError:
                say("peerdead")
                continue
            if why:
                fail(why)
            seq += 1
        try:
            c.recv()
            fail(f"after {count} messages: want end of stream, got a message")
        except shmring.ClosedError:
            pass
        say("ok", c.messages, c.bytes)
        c.close()


def wait_lapped(rd, slots):
    """Stall until the producer is a whole ring ahead, so a lap follows."""
    for _ in range(20000):
        if rd.lag > slots:
            return
        time.sleep(0.0001)


def bcast(name, policy, count, lap_every):
    count, lap_every = int(count), int(lap_every)
    with shmring.open_ring(name) as r:
        rd = r.reader(policy, "oldest")
        say("ready")
        max_len, slots = r.slot_size, r.info.slot_count
        pick = random.Random(count)
        expect = delivered = missed = laps = 0
        stall = lap_every
        while True:
            if lap_every and delivered >= stall:
                stall += lap_every
                if expect + slots < count:
                    wait_lapped(rd, slots)
            try:
                if pick.random() < 0.5:
                    m = rd.receive()
                    why = check(m, expect, max_len)  # a lossy lease may be torn: release says
                    rd.release()
                else:
                    why = check(rd.recv(), expect, max_len)
            except shmring.LappedError as e:
                if policy == "lossless":
                    fail(f"lossless reader lapped at {expect}")
                expect += e.missed
                missed += e.missed
                laps += 1
                continue
            except shmring.ClosedError:
                break
            if why:
                fail(why)
            expect += 1
            delivered += 1
        if expect != count or rd.missed != missed or rd.messages != delivered:
            fail(f"accounting: expect={expect} count={count} missed={missed}/{rd.missed} delivered={delivered}/{rd.messages}")
        say("ok", delivered, missed, laps)


def bench(name, count):
    count = int(count)
    with shmring.open_ring(name) as r:
        c = r.consumer()
        say("ready")
        unpack = struct.Struct("<Q").unpack_from
        recv = c.recv
        for seq in range(count):
            m = recv()
            if unpack(m)[0] != seq:
                fail(f"got message {unpack(m)[0]}, want {seq}")
        say("ok", count, c._wait.sleeps)


# Verdicts, by the C library's codes, so that the Go test reads one format.
_CODES = [
    (shmring.VersionError, -4),
    (shmring.UnsafeFileError, -5),
    (shmring.BadMagicError, -6),
    (shmring.GeometryError, -7),
    (shmring.ChecksumError, -8),
    (shmring.ReadyWordError, -9),
    (shmring.ShortFileError, -10),
    (shmring.SizeError, -11),
    (shmring.NotReadyError, -3),
    (shmring.NotExistError, -2),
    (shmring.InvalidError, -1),
]


def verdict(path, **kw):
    try:
        r = shmring.open_ring(path, **kw)
    except shmring.ShmringError as e:
        for cls, code in _CODES:
            if isinstance(e, cls):
                return code, str(e)
        return -100, f"{type(e).__name__}: {e}"
    info = r.info
    r.close()
    return 0, f"ok kind={info.kind} slots={info.slot_count}"


def open_cmd(path, *opt):
    code, msg = verdict(path, timeout=0.02, allow_shared="shared" in opt)
    say(msg if code == 0 else f"{code} {msg}")


def corrupt(path):
    fd = os.open(path, os.O_RDWR)
    orig = os.pread(fd, 128, 0)
    out = []
    for off in range(128):
        for v in range(256):
            if v == orig[off]:
                continue
            os.pwrite(fd, bytes([v]), off)
            out.append(f"{off} {v} {verdict(path, timeout=0.001)[0]}")
        os.pwrite(fd, orig[off : off + 1], off)
    os.close(fd)
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


COMMANDS = {"consume": consume, "bcast": bcast, "bench": bench, "open": open_cmd, "corrupt": corrupt}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        fail("usage: interop.py consume|bcast|bench|open|corrupt ARGS...")
    COMMANDS[sys.argv[1]](*sys.argv[2:])
