package interop

// The Python package at its edges, as a user meets them: timeouts that are
// no number or a deadline already passed, a length that is no int, a loop
// over views left early, and a Ring.close() racing a blocked call.

import (
	"context"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

const pythonEdges = `import pickle, sys, threading, time, shmring
with shmring.open_ring(sys.argv[1]) as r:
    c, p = r.consumer(), r.producer()
    for what, t in (("negative", -1), ("nan", float("nan"))):
        try:
            c.recv(timeout=t)
            print(what, "a message")
        except shmring.ShmringError as e:
            print(what, type(e).__name__)
    m = p.claim(timeout=0)
    m[:5] = b"hello"
    try:
        p.commit(1.5)
        print("float committed")
    except TypeError:
        print("float TypeError")
    try:
        p.commit(-1)
        print("negative committed")
    except shmring.ShmringError as e:
        print("negative commit", type(e).__name__, isinstance(e, shmring.InvalidError), isinstance(e, shmring.TooLargeError))
    p.commit(5)
    try:
        c.recv_into(bytearray(2), timeout=0)
    except shmring.ShortBufferError as e:
        back = pickle.loads(pickle.dumps(e))  # multiprocessing sends it so
        print("short buffer", e.length, e.buffer, "pickled", back.length, back.buffer, str(back) == str(e))
    print("then", bytes(c.recv(timeout=0)).decode())
    p.send(b"a", timeout=0)
    p.send(b"b", timeout=0)
    for v in c.views(timeout=0):
        break
    print("after break", bytes(c.recv(timeout=0)).decode())
r2 = shmring.open_ring(sys.argv[2])
c2 = r2.consumer()
got = []
def blocked():
    try:
        c2.recv(timeout=30)
        got.append("a message")
    except Exception as e:
        got.append(type(e).__name__)
t = threading.Thread(target=blocked)
t.start()
time.sleep(0.2)
r2.close()
t.join()
print("race", got[0])
`

// runPython runs script with args in python3, the package on its path,
// and checks that it prints the lines of want, in order, and exits 0.
func runPython(t *testing.T, what, script string, want []string, args ...string) {
	py := proctest.StartCommand(t, what, pythonCmd(t, append([]string{"-c", script}, args...)...))
	for _, w := range want {
		py.Expect(w)
	}
	if err := py.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestPythonEdges: a negative timeout is a deadline already passed
// (ShmringTimeout, at once), NaN is InvalidError (it waited for ever);
// commit(1.5) is a TypeError that keeps the claim (it dropped it, and the
// message was lost), commit(-1) an InvalidError that keeps it too; breaking out of views() releases the last lease (the
// next recv said "receive while holding"); a Ring.close() on another
// thread ends a blocked recv with ClosedError (it was a ValueError of a
// released memoryview, or EBADF).
func TestPythonEdges(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	o := ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}
	one, two := newRing(t, o), newRing(t, o)
	runPython(t, "python edges", pythonEdges, []string{
		"negative ShmringTimeout",
		"nan InvalidError",
		"float TypeError",
		// Go's is ErrInvalid and ErrTooLarge: it was a TooLargeError alone,
		// as if -1 were large (a black-box tester), then an InvalidError
		// alone, which a caller of the old one no longer caught (a reviewer).
		"negative commit NegativeLengthError True True",
		"short buffer 5 2 pickled 5 2 True", // the length a buffer must hold, not only in the text; it survives pickling (a reviewer)
		"then hello",
		"after break b",
		"race ClosedError",
	}, one, two)
}

const pythonCloseRace = `import os, signal, sys, threading, time, shmring
from shmring import _sys as S

# 1. A wake in flight when close() runs: close() waits for it before it
# unmaps, so the wake's FUTEX_WAKE_OP never writes to an address that is no
# longer the ring's.
r = shmring.open_ring(sys.argv[1])
c, p = r.consumer(), r.producer()
wake, first, mapped = S.wake_bump, threading.Event(), []
def slow_wake(addr, n):
    if not first.is_set():
        first.set()
        time.sleep(0.3)  # close() runs now, on another thread
        mapped.append(r._mm is not None)
    wake(addr, n)
S.wake_bump = slow_wake
def receive_from(c):
    def receive():
        try:
            c.recv(timeout=5)
        except shmring.ShmringError:
            pass
    return receive
rt = threading.Thread(target=receive_from(c))
rt.start()
time.sleep(0.1)  # the consumer sleeps on the empty ring: the send wakes it
st = threading.Thread(target=lambda: p.send(b"x", timeout=0))
st.start()
first.wait(5)
r.close()
st.join()
rt.join()
S.wake_bump = wake
print("wake on a mapped ring", mapped)

# 2. An end-mark check that meets the descriptor close() closed, its number
# perhaps another file's (it reads other bytes there), says ClosedError, not
# that the file was shrunk.
r = shmring.open_ring(sys.argv[2])
p, c = r.producer(), r.consumer()
p.send(b"y", timeout=0)
pread = os.pread
def closed_under(fd, n, off):
    threading.Thread(target=r.close).start()
    while r._mm is not None:
        time.sleep(0.001)
    return bytes(n)  # what another file read through a reused descriptor says
os.pread = closed_under
try:
    c.recv(timeout=0)
    print("end mark a message")
except shmring.ShmringError as e:
    print("end mark", type(e).__name__)
os.pread = pread

# 3. Two closes at once, the first one slowed inside the consumer's
# detach (its membarrier call): Ring.close() on two threads, then the
# consumer's own close() against the Ring's. Neither raises, and the role
# is let go of: a new consumer attaches. (The second close used to unmap
# under the first, which raised ValueError and kept the role's lock.)
from shmring import _sys as S
barrier, slowed = S.barrier, threading.Event()
def slow_barrier():
    if threading.current_thread().name == "first":
        slowed.set()
        time.sleep(0.2)
    return barrier()
S.barrier = slow_barrier
for how in ("ring", "handle"):
    r = shmring.open_ring(sys.argv[3])
    c = r.consumer()
    slowed.clear()
    errs = []
    def closing(close):
        def run():
            try:
                close()
            except Exception as e:
                errs.append(repr(e))
        return run
    first = threading.Thread(target=closing(r.close if how == "ring" else c.close), name="first")
    second = threading.Thread(target=closing(r.close))
    first.start()
    slowed.wait(5)
    second.start()
    first.join()
    second.join()
    again = shmring.open_ring(sys.argv[3])
    try:
        again.consumer()
    except shmring.ShmringError as e:
        errs.append(repr(e))
    again.close()
    print("two closes", how, errs)
S.barrier = barrier

# 3b. close() while a view of a message is kept (allowed): it closes, and
# says so; a second close() returns.
r = shmring.open_ring(sys.argv[3])
p, c = r.producer(), r.consumer()
p.send(b"hello world", timeout=0)
kept = c.receive(timeout=0)[:5]
c.release()
try:
    r.close()
    r.close()
    print("close with a view kept", r.closed, bytes(kept))
except Exception as e:
    print("close with a view kept", repr(e))

# 4. close() from a signal handler that interrupted this thread's recv,
# asleep on the futex: it does not wait for the call it interrupted (it
# waited out a second), and the recv then says ClosedError.
r = shmring.open_ring(sys.argv[4])
c = r.consumer()
took = []
def handler(sig, frame):
    t0 = time.monotonic()
    r.close()
    took.append(time.monotonic() - t0)
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.05)
try:
    c.recv(timeout=3)
    print("handler close a message")
except shmring.ShmringError as e:
    print("handler close", type(e).__name__, "at once" if took and took[0] < 0.5 else f"took {took}")
`

// TestPythonCloseWaitsForFutexCallsAndEndMarkChecksSayClosed: Ring.close()
// on one thread while another is inside a wake or an end-mark check, two
// close() calls at once, and a close() from a signal handler. The wake's
// FUTEX_WAKE_OP writes the word at its address: close() used to unmap under
// it, so the write could land on whatever the process mapped there next. An
// end-mark check that met the closed descriptor, whose number may be another
// file's, said TruncatedError.
func TestPythonCloseWaitsForFutexCallsAndEndMarkChecksSayClosed(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	o := ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}
	runPython(t, "python close race", pythonCloseRace, []string{
		"wake on a mapped ring [True]",
		"end mark ClosedError",
		"two closes ring []",
		"two closes handle []",
		"close with a view kept True b'hello'",
		"handler close ClosedError at once",
	}, newRing(t, o), newRing(t, o), newRing(t, o), newRing(t, o))
}

const pythonFork = `import os, sys, threading, time, shmring
from shmring import _layout as L

# A child forked while a thread of its parent sleeps in recv, and while the
# parent holds both roles, closes its copy of the Ring: at once (the
# parent's thread is not the child's to wait for), and without detaching
# the parent's roles (the copies of the handles are not the roles).
r = shmring.open_ring(sys.argv[1])
p, c = r.producer(), r.consumer()
got = []
def receive():
    try:
        got.append(bytes(c.recv(timeout=5)))
    except shmring.ShmringError as e:
        got.append(type(e).__name__)
t = threading.Thread(target=receive)
t.start()
time.sleep(0.1)
pid = os.fork()
if pid == 0:
    # A close() that waits for the parent's thread would wait this long:
    # past the test's watchdog, a hang rather than a timing to assert.
    shmring._ring._FUTEX_DRAIN = 3600
    r.close()
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child close", "done" if os.waitstatus_to_exitcode(status) == 0 else f"exit {os.waitstatus_to_exitcode(status)}")
print("consumer still attached", r.u32[L.CONSUMER_STATE_OFFSET >> 2] & L.STATE_ATTACHED != 0)
p.send(b"after the fork", timeout=1)
t.join()
print("parent's recv got", got)
r.close()
`

// TestPythonForkedChildClosesOnlyItsCopy: os.fork() copies a Ring and its
// handles into the child. The child's close() waited out a second for a
// parent thread's futex sleep (not the child's), and detached the parent's
// roles: it stored the consumer's state as free under the parent.
func TestPythonForkedChildClosesOnlyItsCopy(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	o := ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}
	runPython(t, "python fork", pythonFork, []string{
		"child close done",
		"consumer still attached True",
		"parent's recv got [b'after the fork']",
	}, newRing(t, o))
}

const pythonForkedRoleHolder = `import os, signal, sys, shmring

# A role holder forks a worker, then is killed: the worker's copies of its
# handles hold no role, so the roles are free for the next process, and a
# call on a copy is refused, iteration included (a consumer's copy
# delivered the holder's next message; iterating one ended silently).
name, bcast = sys.argv[1], sys.argv[2]
r = shmring.open_ring(name)
p = r.producer()
p.send(b"m0", timeout=1)
p.close()
r.close()
rd, wr = os.pipe()
# The holder and its worker live until this process ends, killed or not:
# then their read of stop sees the end of the pipe.
stop, keep = os.pipe()
holder = os.fork()
if holder == 0:
    os.close(keep)
    ring = shmring.open_ring(name)
    c, p = ring.consumer(), ring.producer()
    reader = shmring.open_ring(bcast).reader(policy="lossless")
    worker = os.fork()
    if worker == 0:
        def outcome(f):
            try:
                f()
                return "delivered"
            except shmring.ClosedError as e:
                return "ClosedError " + str("os.fork()" in str(e))
        verdicts = [
            outcome(lambda: c.recv(timeout=0)),
            outcome(lambda: list(c)),
            outcome(lambda: p.send(b"x", timeout=0)),
            outcome(lambda: reader.recv(timeout=0)),
            outcome(lambda: list(reader)),
        ]
        os.write(wr, (str(os.getpid()) + " " + ", ".join(verdicts) + "\n").encode())
        os.read(stop, 1)
        os._exit(0)
    os.read(stop, 1)
    os._exit(0)
worker, verdict = os.read(rd, 512).decode().strip().split(" ", 1)
print("the worker's copies (recv, iteration, send, reader recv, reader iteration):", verdict)
os.kill(holder, signal.SIGKILL)
os.waitpid(holder, 0)
try:
    with shmring.open_ring(name) as again:
        print("a consumer after the holder was killed got", bytes(again.consumer().recv(timeout=1)))
    with shmring.open_ring(bcast) as again:
        again.reader(policy="lossless")
        print("a reader after the holder was killed: ok")
except shmring.ShmringError as e:
    print("a role after the holder was killed:", type(e).__name__, e)
`

// TestPythonForkedChildHoldsNoRole: a child forked by a role holder lets
// go of its copies of the roles' lock descriptors, so a holder killed
// while the child lives leaves its roles to the next process (the child
// kept them held: BusyError), and a call on the child's copy of a
// consumer, producer or reader is ClosedError, iteration included (a
// consumer's copy delivered the holder's next message; iterating a copy
// ended as a stream does). (From a black-box tester and a reviewer.)
func TestPythonForkedChildHoldsNoRole(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	runPython(t, "python forked role holder", pythonForkedRoleHolder, []string{
		"the worker's copies (recv, iteration, send, reader recv, reader iteration): ClosedError True, ClosedError True, ClosedError True, ClosedError True, ClosedError True",
		"a consumer after the holder was killed got b'm0'",
		"a reader after the holder was killed: ok",
	}, newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}),
		newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 1}))
}

const pythonForkWhileTakingRoles = `import os, sys, threading, time, shmring

# One thread takes and gives up the consumer role in a loop while the main
# thread forks children that live on; then the parent lets go of
# everything. No child may hold the role: a fork that landed between the
# lock taken and its handle listed left the child holding it for ever.
name = sys.argv[1]
r = shmring.open_ring(name)
stop = False
def churn():
    while not stop:
        try:
            r.consumer().close()
        except shmring.BusyError:
            time.sleep(0.001)  # a child made just now has not let go of its copy yet
t = threading.Thread(target=churn)
t.start()
end, keep = os.pipe()
kids = []
for i in range(60):
    pid = os.fork()
    if pid == 0:
        os.close(keep)
        os.read(end, 1)  # until the parent ends
        os._exit(0)
    kids.append(pid)
    time.sleep(0.001)
stop = True
t.join()
r.close()
deadline = time.monotonic() + 5  # every child has run its fork hook long before
while True:
    try:
        with shmring.open_ring(name) as again:
            again.consumer().close()
        print("the role after the children were made: free")
        break
    except shmring.BusyError as e:
        if time.monotonic() > deadline:
            print("the role after the children were made:", e)
            break
        time.sleep(0.05)
os.close(keep)
for pid in kids:
    os.waitpid(pid, 0)
`

// TestPythonForkWhileTakingRolesLeaksNoRole: a fork while another thread
// of the parent takes a role leaves the child no copy of the role's lock:
// taking the lock and listing its handle are one step as far as a fork is
// concerned. The child held it for as long as it lived (BusyError for
// every process). (From a black-box tester.)
func TestPythonForkWhileTakingRolesLeaksNoRole(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	runPython(t, "python fork while taking roles", pythonForkWhileTakingRoles, []string{
		"the role after the children were made: free",
	}, newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}))
}

const pythonReleaseAfterWith = `import sys, shmring

# The ordinary memoryview pattern: the view ended by with, then release().
spsc, bcast = sys.argv[1], sys.argv[2]
with shmring.open_ring(spsc) as r:
    p, c = r.producer(), r.consumer()
    p.send(b"one", timeout=1)
    p.send(b"two", timeout=1)
    with c.receive(timeout=1) as m:
        first = bytes(m)
    c.release()
    print("consumer", first, bytes(c.recv(timeout=1)), c.messages, c.bytes)
with shmring.open_ring(bcast) as r:  # the Go test published one and two
    rd = r.reader(policy="lossless", start="oldest")
    with rd.receive(timeout=1) as m:
        first = bytes(m)
    rd.release()
    print("reader", first, bytes(rd.recv(timeout=1)), rd.messages, rd.bytes)
`

// TestPythonReleaseAfterTheViewEnded: a view ended by its with block
// before release() is released all the same, and the next message comes.
// release() read the ended view's length: a ValueError, and the handle
// stuck ("receive while holding a message") until closed. (From a
// black-box tester.)
func TestPythonReleaseAfterTheViewEnded(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	bcast := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 8})
	p := goProducer(t, bcast)
	for _, m := range []string{"one", "two"} {
		if err := p.Send(context.Background(), []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	runPython(t, "python release after with", pythonReleaseAfterWith, []string{
		"consumer b'one' b'two' 2 6",
		"reader b'one' b'two' 2 6",
	}, newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}), bcast)
}

const pythonHandleClose = `import sys, threading, time, shmring

# 1. A consumer's close() on another thread ends a recv blocked on it with
# ClosedError, and gives the role up only once that recv has left: the next
# consumer gets the next message, and the old recv none.
r = shmring.open_ring(sys.argv[1])
c = r.consumer()
got = []
def blocked():
    try:
        got.append(bytes(c.recv(timeout=5)))
    except shmring.ShmringError as e:
        got.append(type(e).__name__)
t = threading.Thread(target=blocked)
t.start()
time.sleep(0.1)
c.close()
t.join(5)
print("blocked recv", got, "ended" if not t.is_alive() else "still running")
again = shmring.open_ring(sys.argv[1])
c2, p = again.consumer(), again.producer()
p.send(b"m0", timeout=1)
print("next consumer", bytes(c2.recv(timeout=1)), got)
again.close()
r.close()

# 1b. A claim past its wait (slowed here) when the producer's close()
# runs on another thread: close() waits for it, then ends the view it
# returned; it had ended the claim first and left the new view writable
# after giving the role up.
from shmring import _producer
r = shmring.open_ring(sys.argv[1])
p = r.producer()
reserve = _producer.Producer._reserve
def slow_reserve(self, timeout):
    reserve(self, timeout)
    time.sleep(0.2)
_producer.Producer._reserve = slow_reserve
out = {}
t = threading.Thread(target=lambda: out.setdefault("view", p.claim(timeout=1)))
t.start()
time.sleep(0.05)
p.close()
t.join()
_producer.Producer._reserve = reserve
try:
    out["view"][:5] = b"AFTER"
    print("claim view after close: writable")
except (ValueError, KeyError):
    print("claim view after close: ended")
r.close()

# 1c. The Ring's close() from a signal handler that lands inside this
# thread's consumer close() (simulated from its membarrier call): the
# handle's close() returns quietly (it raised a raw ValueError), and the
# role is free.
from shmring import _sys as S
r = shmring.open_ring(sys.argv[1])
c = r.consumer()
barrier = S.barrier
def closing_barrier():
    S.barrier = barrier
    r.close()
    return barrier()
S.barrier = closing_barrier
try:
    c.close()
    print("handle close under a handler's ring close: quiet")
except Exception as e:
    print("handle close under a handler's ring close:", repr(e))
S.barrier = barrier
again = shmring.open_ring(sys.argv[1])
again.consumer()
again.close()

# 2. Taking a role from a closed Ring is ClosedError (it reopened the
# descriptor, whose number may be another file's by then).
r = shmring.open_ring(sys.argv[1])
r.close()
for take in (r.consumer, r.producer):
    try:
        take()
        print("role from a closed ring: a handle")
    except shmring.ShmringError as e:
        print("role from a closed ring", type(e).__name__)
`

// TestPythonHandleCloseOnAnotherThread: a consumer's close() on another
// thread left a recv blocked on it running, and gave the role up under it:
// a new consumer took the role, and the old recv then took a message as
// well. A role taken from a closed Ring was a raw FileNotFoundError, or a
// lock on whatever file had the descriptor's number. (From a black-box
// tester.)
func TestPythonHandleCloseOnAnotherThread(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	o := ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}
	runPython(t, "python handle close", pythonHandleClose, []string{
		"blocked recv ['ClosedError'] ended",
		"next consumer b'm0' ['ClosedError']",
		"claim view after close: ended",
		"handle close under a handler's ring close: quiet",
		"role from a closed ring ClosedError",
		"role from a closed ring ClosedError",
	}, newRing(t, o))
}

const pythonSmallEdges = `import array, os, subprocess, sys, shmring

name = sys.argv[1]
# open with a NaN timeout waited for ever on a file not ready; now InvalidError
# (checked on a ready ring: the check comes first).
try:
    shmring.open_ring(name, timeout=float("nan"))
    print("open nan: a ring")
except shmring.ShmringError as e:
    print("open nan", type(e).__name__)

r = shmring.open_ring(name)
p, c = r.producer(), r.consumer()
# A buffer of another item size is filled by bytes; a strided view is sent.
p.send(b"abcdefgh", timeout=0)
print("recv_into array", c.recv_into(array.array("I", [0] * 4), timeout=0))
p.send(memoryview(b"abcdefgh")[::2], timeout=0)
print("strided send", bytes(c.recv(timeout=0)))
# After the Ring's close(), an open claim's commit and a lease's release say
# ClosedError, not "without a claim".
p.send(b"x", timeout=0)
c.receive(timeout=0)
p.claim(timeout=0)
r.close()
for what, call in (("commit", lambda: p.commit(1)), ("release", c.release)):
    try:
        call()
        print(what, "after close: nothing")
    except shmring.ShmringError as e:
        print(what, "after close", type(e).__name__)

# A Ctrl-C that lands as the role's lock is taken, or as close() begins its
# work, leaves no lock and no descriptor (simulated at the exact line).
def interrupt_at(filename, func, text):
    import linecache
    done = []
    def tracer(frame, event, arg):
        if done or not frame.f_code.co_filename.endswith(filename) or frame.f_code.co_name != func:
            return None
        def local(frame, event, arg):
            if event == "line" and not done and text in linecache.getline(frame.f_code.co_filename, frame.f_lineno):
                done.append(1)
                raise KeyboardInterrupt
            return local
        return local
    sys.settrace(tracer)
def ring_fds():
    return sum(1 for f in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{f}") == os.path.realpath("/dev/shm/" + name))
for where, (filename, func, text) in (("lock", ("_sys.py", "lock", "return fd")), ("close", ("_ring.py", "close", "self._closing = True"))):
    r = shmring.open_ring(name)
    try:
        if where == "lock":
            interrupt_at(filename, func, text)
        c = r.consumer()
        interrupt_at(filename, func, text)
        r.close()
    except KeyboardInterrupt:
        pass
    sys.settrace(None)
    r.close()
    check = subprocess.run([sys.executable, "-c", f"import shmring\nr = shmring.open_ring({name!r})\nr.consumer()\nprint('free')"], capture_output=True, text=True)
    print("interrupted at", where, "descriptors", ring_fds(), check.stdout.strip() or check.stderr.strip().splitlines()[-1])

# A second close() on another thread returns once the first one's work is
# done, its descriptor closed, not as soon as the mapping is gone.
import threading, time, shmring._ring as ring_module
class SlowClose:  # the first close() takes its time closing the descriptor
    def __getattr__(self, attr):
        return getattr(os, attr)
    def close(self, fd):
        time.sleep(0.3)
        os.close(fd)
r = shmring.open_ring(name)
ring_module.os = SlowClose()
first = threading.Thread(target=r.close)
first.start()
time.sleep(0.1)
r.close()
print("second close returned: descriptors", ring_fds())
first.join()
ring_module.os = os

# A Ring and its handles dropped unclosed give their roles up at once, by
# reference counting (they waited for the cycle collector).
import gc
gc.disable()
r = shmring.open_ring(name)
c, p = r.consumer(), r.producer()
p.send(b"x", timeout=0)
try:
    c.recv(timeout=0.01)
    c.recv(timeout=0.01)  # a wait: its waiter held the handle
except shmring.ShmringTimeout:
    pass
del r, c, p
r = shmring.open_ring(name)
try:
    r.consumer().close()
    r.producer().close()
    print("dropped handles: roles free")
except shmring.BusyError:
    print("dropped handles: roles still held")
r.close()
gc.enable()
`

// TestPythonSmallEdges: what a black-box tester found at the Python
// package's edges: an open timeout of NaN waited for ever; a buffer of
// another item size or a strided view raised raw ValueError/BufferError;
// commit and release after the Ring's close said "without a claim"; a
// Ctrl-C landing as a role's lock was taken, or as close() began, left the
// lock held and descriptors open for the rest of the process; a second
// close() on another thread returned before the first had closed the
// descriptor; a Ring and its handles dropped unclosed held their roles
// until the cycle collector ran (each handle's waiter held the handle).
func TestPythonSmallEdges(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	runPython(t, "python small edges", pythonSmallEdges, []string{
		"open nan InvalidError",
		"recv_into array 8",
		"strided send b'aceg'",
		"commit after close ClosedError",
		"release after close ClosedError",
		"interrupted at lock descriptors 0 free",
		"interrupted at close descriptors 0 free",
		"second close returned: descriptors 0",
		"dropped handles: roles free",
	}, newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8}))
}

const pythonArguments = `import decimal, inspect, os, sys, threading, time, shmring
spsc, bcast = sys.argv[1], sys.argv[2]
def outcome(f):
    try:
        f()
        return "ok"
    except Exception as e:
        return type(e).__name__
print("name None", outcome(lambda: shmring.open_ring(None)))
print("name int", outcome(lambda: shmring.open_ring(5)))
print("open timeout None", outcome(lambda: shmring.open_ring(spsc, timeout=None)))
print("open timeout str", outcome(lambda: shmring.open_ring(spsc, timeout="1")))
print("open timeout inf", outcome(lambda: shmring.open_ring(spsc, timeout=float("inf"))))
print("allow_world_write str", outcome(lambda: shmring.open_ring(spsc, allow_world_write="False")))
print("max_file_size -1", outcome(lambda: shmring.open_ring(spsc, max_file_size=-1)))
print("open_fd -1", outcome(lambda: shmring.open_fd(-1)))
print("open_fd str", outcome(lambda: shmring.open_fd("3")))
closed = os.open("/dev/null", os.O_RDONLY)
os.close(closed)
print("open_fd of a closed descriptor", outcome(lambda: shmring.open_fd(closed)))
def after_first(f):
    return [(a.name, a.default, a.kind) for a in list(inspect.signature(f).parameters.values())[1:]]
print("open_fd takes open_ring's arguments", after_first(shmring.open_fd) == after_first(shmring.open_ring))
print("trust_uids str", outcome(lambda: shmring.open_ring(spsc, trust_uids=["a"])))
print("max_file_size float", outcome(lambda: shmring.open_ring(spsc, max_file_size=1e9).close()))
with shmring.open_ring(bcast) as b:
    print("reader None", outcome(lambda: b.reader(None)))
    print("reader unknown", outcome(lambda: b.reader("sometimes")))
r = shmring.open_ring(spsc)
c, p = r.consumer(), r.producer()
print("send timeout str", outcome(lambda: p.send(b"x", timeout="1")))
print("recv timeout str", outcome(lambda: c.recv(timeout="1")))
print("recv_into str", outcome(lambda: c.recv_into("abc", timeout=0)))
print("recv_into bytes", outcome(lambda: c.recv_into(b"abc", timeout=0)))
print("recv timeout Decimal", outcome(lambda: c.recv(timeout=decimal.Decimal(0))))
print("views timeout str", outcome(lambda: c.views(timeout="x")))
grow = bytearray(4)
try:
    c.recv_into(grow, timeout=0)
except shmring.EmptyError:
    grow.extend(b"more")  # no view of it is left behind by the call
print("buffer resizable after EmptyError", len(grow))
p.send(b"x", timeout=0)
print("then", bytes(c.recv(timeout=0)).decode())
for i in range(3):
    p.send(b"m%d" % i, timeout=0)
    c.recv(timeout=0)
got = []
t = threading.Thread(target=lambda: got.append(outcome(lambda: c.recv(timeout=5))))
t.start()
time.sleep(0.2)
os.truncate("/dev/shm/" + spsc, 8192)
t.join()
print("cut while waiting", got[0])
print("next recv", outcome(lambda: c.recv(timeout=0)))
print("next send", outcome(lambda: p.send(b"y", timeout=0)))
p.close()
print("new producer", outcome(lambda: r.producer()))
c.close()
print("recv after close", outcome(lambda: c.recv(timeout=0)))
print("survived")
`

// TestPythonArgumentsAndACutRing: a wrong argument type is Python's own
// TypeError, raised on entry, before a call waits or reads (it was
// InvalidError, or nothing until the call waited, or a TypeError from the
// package's own arithmetic; allow_world_write="False" opened a
// world-writable ring); a nonsense value of the right type is
// InvalidError (max_file_size=-1 said FileTooBigError; an open timeout of
// inf waited for ever on a ring never ready). What the package
// took before is still taken: a Decimal timeout, a float size, a bytearray
// resizable after recv_into found nothing (no view of it kept across the
// wait). And a ring found truncated stays so: a later call raises
// TruncatedError without touching the pages past the cut (it ended the
// interpreter with SIGBUS), the Ring takes no new role, and a closed
// handle still says ClosedError. open_fd takes open_ring's arguments in
// open_ring's order, as the README says (a third positional argument was
// max_file_size to one and trust_uids to the other), and a descriptor not
// open is InvalidError, as -1 is (it was a bare OSError, where the README
// promises ShmringError subclasses). From black-box
// testers and a reviewer.
func TestPythonArgumentsAndACutRing(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	runPython(t, "python arguments", pythonArguments, []string{
		"name None TypeError",
		"name int TypeError",
		"open timeout None TypeError",
		"open timeout str TypeError",
		"open timeout inf InvalidError",
		"allow_world_write str TypeError",
		"max_file_size -1 InvalidError",
		"open_fd -1 InvalidError",
		"open_fd str TypeError",
		"open_fd of a closed descriptor InvalidError",
		"open_fd takes open_ring's arguments True",
		"trust_uids str TypeError",
		"max_file_size float ok",
		"reader None TypeError",
		"reader unknown InvalidError",
		"send timeout str TypeError",
		"recv timeout str TypeError",
		"recv_into str TypeError",
		"recv_into bytes TypeError",
		"recv timeout Decimal EmptyError",
		"views timeout str TypeError",
		"buffer resizable after EmptyError 8",
		"then x",
		"cut while waiting TruncatedError",
		"next recv TruncatedError",
		"next send TruncatedError",
		"new producer TruncatedError",
		"recv after close ClosedError",
		"survived",
	}, newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 4096, Slots: 16}), newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 8}))
}
