"""The Python side of the cross-language tests in interop/: each subcommand is
one process of a test, talking to the Go test by lines on stdout and failing
with a message on stderr and exit status 1. Command lines as
c/tests/interop.c's:

    consume RING FIRST COUNT closed      receive and check messages
    bcast   RING lossless|lossy COUNT LAPEVERY
    bench   RING COUNT                   receive COUNT messages, check seq only
    trunc   RING                         receive and check until the ring fails
    endmark SPSC SPSC_EMPTY BCAST        every read of rings without their end mark
    open    NAME [OPTION...]             open and print the verdict; options
                                         trustuid=N trustgid=N world maxsize=N
    corrupt PATH                         every single-byte header corruption
    role    RING producer|consumer|lossy|lossless   take the role, print the verdict, give it up
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


def trunc(name):
    """Receive and check every message with the copying call until one
    fails; after a few rings' worth say "streaming" and pause until the
    parent sends a line (it lets the ring fill, then shrinks the file); at
    the end say "stopped received=N code=C detail" and hold the role until
    stdin closes. A message that fails its check was damaged and delivered
    as whole: exit 1."""
    with shmring.open_ring(name) as r:
        c = r.consumer()
        seq = 0
        try:
            while True:
                why = check(c.recv(), seq, r.slot_size)
                if why:
                    say(f"stopped received={seq} damaged")
                    fail(f"a damaged message was delivered as whole: {why}")
                if seq == 4 * r.info.slot_count:
                    say("streaming")
                    sys.stdin.readline()
                seq += 1
        except shmring.ShmringError as e:
            err = e
        say(f"stopped received={seq} code={code_of(err)} {err}")
        sys.stdin.read()
        c.close()
    if not isinstance(err, shmring.TruncatedError):
        sys.exit(1)


def endmark(spsc, empty, bcast):
    """Every read of rings whose end mark the test overwrote fails; one line
    of codes, as c/tests/interop.c's endmark."""

    def code(call):
        try:
            call()
        except shmring.ShmringError as e:
            return code_of(e)
        return 0

    with shmring.open_ring(spsc) as r1, shmring.open_ring(empty) as r2, shmring.open_ring(bcast) as r3:
        c1, c2 = r1.consumer(), r2.consumer()
        lossless, lossy, latest = r3.reader("lossless", "oldest"), r3.reader("lossy", "oldest"), r3.reader("lossy", "latest")
        got = {
            "receive": code(c1.receive),
            "recv": code(c1.recv),
            "wait": code(c2.recv),
            "bcopy": code(lossless.receive),  # a joiner's validated copy
            "bplace": code(lossy.receive),  # in place
            "brecv": code(lossy.recv),
            "bwait": code(latest.recv),
        }
        say(" ".join(f"{k}={v}" for k, v in got.items()))


# Verdicts, by the C library's codes, so that the Go test reads one format.
_CODES = [
    (shmring.TruncatedError, -25),
    (shmring.FileTooBigError, -26),
    (shmring.UnsupportedError, -27),
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
    (shmring.CorruptError, -12),  # after the header's errors, which may be kinds of it
    (shmring.InvalidError, -1),
    (shmring.EmptyError, -15),
    (shmring.FullError, -16),
    (shmring.ShmringTimeout, -17),
    (shmring.ClosedError, -18),
    (shmring.PeerDeadError, -19),
]


def code_of(e):
    for cls, code in _CODES:
        if isinstance(e, cls):
            return code
    return -100


def verdict(path, **kw):
    try:
        if path.startswith("fd:"):  # an inherited descriptor
            r = shmring.open_fd(int(path[3:]), **kw)
        else:
            r = shmring.open_ring(path, **kw)
    except shmring.ShmringError as e:
        code = code_of(e)
        return code, str(e) if code != -100 else f"{type(e).__name__}: {e}"
    i = r.info
    r.close()
    return 0, (
        f"ok kind={i.kind} slots={i.slot_count} flags={i.flags} counters={i.counters_offset} "
        f"end={i.end_offset} file={i.file_size}"
    )


def open_cmd(path, *opts):
    kw = {"trust_uids": [], "trust_gids": []}
    for o in opts:
        key, _, val = o.partition("=")
        if key == "trustuid":
            kw["trust_uids"].append(int(val, 0))
        elif key == "trustgid":
            kw["trust_gids"].append(int(val, 0))
        elif key == "world":
            kw["allow_world_write"] = True
        elif key == "maxsize":
            kw["max_file_size"] = int(val, 0)
        else:
            fail(f"open: unknown option {o}")
    code, msg = verdict(path, timeout=0.02, **kw)
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


def role(name, which):
    with shmring.open_ring(name) as r:
        try:
            if which == "producer":
                r.producer().close()
            elif which == "consumer":
                r.consumer().close()
            else:
                r.reader(which, "oldest").close()
        except shmring.ShmringError as e:
            say(f"{code_of(e)} {e}")
            return
    say("ok")


def poll(name, which):
    """Call with timeout=0 in a loop, checking what arrives, until the
    producer's death ends it: "peerdead N then C C C C slept S" after N
    messages, with the codes of three more polls and of a call that waits
    (a minute: the test's hang guard, not a figure), each of which must say
    it again, the waiting one before it sleeps, and the futex sleeps they
    took."""
    with shmring.open_ring(name) as r:
        h = r.reader("lossless", "oldest") if which == "reader" else r.consumer()
        say("ready")
        seq = 0
        while True:
            try:
                why = check(h.recv(timeout=0), seq, r.slot_size)
            except shmring.EmptyError:
                continue
            except shmring.PeerDeadError:
                break
            if why:
                fail(why)
            seq += 1
        again, slept = [], h._wait.sleeps
        for timeout in (0, 0, 0, 60):
            try:
                h.recv(timeout=timeout)
                again.append(0)
            except shmring.ShmringError as e:
                again.append(code_of(e))
        say("peerdead", seq, "then", *again, "slept", h._wait.sleeps - slept)


def shrunk(name):
    """Send one message, say "ready", and after a line on stdin (the file
    shrunk meanwhile) say the codes of a send and of a claim (1: it handed
    out a slot)."""
    with shmring.open_ring(name) as r:
        p = r.producer()
        p.send(bytes(8), timeout=0)
        say("ready")
        sys.stdin.readline()
        codes = []
        for call in (lambda: p.send(bytes(8), timeout=0), lambda: p.claim(timeout=0)):
            try:
                codes.append(0 if call() is None else 1)
            except shmring.ShmringError as e:
                codes.append(code_of(e))
            p.abort()
        say("send", codes[0], "claim", codes[1])
        p.close()


def joiner(name):
    """Join as a lossless reader at Oldest, say "first SEQ" of the first
    message, and after a line on stdin drain with timeout=0, each message
    checked, laps counted: "end NEXT laps L"; a silent hole fails."""
    with shmring.open_ring(name) as r:
        rd = r.reader("lossless", "oldest")
        m = bytes(rd.recv())
        nxt = struct.unpack_from("<Q", m)[0]
        why = check(m, nxt, r.slot_size)
        if why:
            fail(why)
        say("first", nxt)
        nxt += 1
        sys.stdin.readline()
        laps = 0
        while True:
            try:
                m = rd.recv(timeout=0)
            except shmring.EmptyError:
                break
            except shmring.LappedError as e:
                laps += 1
                nxt += e.missed
                continue
            why = check(m, nxt, r.slot_size)
            if why:
                fail(f"after message {nxt - 1}: {why}")
            nxt += 1
        say("end", nxt, "laps", laps)
        rd.close()


def waitback(name, which, count):
    """Take the role (consumer, lossy or lossless reader), receive COUNT
    messages, say "waiting" and wait for one more: a peer moves the
    producer's cursor back meanwhile, which the wait must report ("stopped
    code=N"), not sit out its 5 s."""
    with shmring.open_ring(name) as r:
        h = r.consumer() if which == "consumer" else r.reader(which, "oldest")
        code = 0
        try:
            for seq in range(int(count) + 1):
                if seq == int(count):
                    say("waiting")
                h.recv(timeout=5.0)
        except shmring.ShmringError as e:
            code = code_of(e)
        say(f"stopped code={code}")
        h.close()


COMMANDS = {
    "consume": consume,
    "bcast": bcast,
    "bench": bench,
    "trunc": trunc,
    "endmark": endmark,
    "open": open_cmd,
    "corrupt": corrupt,
    "role": role,
    "poll": poll,
    "shrunk": shrunk,
    "joiner": joiner,
    "waitback": waitback,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        fail("usage: interop.py consume|bcast|bench|trunc|endmark|open|corrupt|role|poll|shrunk|joiner|waitback ARGS...")
    COMMANDS[sys.argv[1]](*sys.argv[2:])
