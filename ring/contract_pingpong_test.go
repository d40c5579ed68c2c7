package ring_test

// No lost wake-ups, on any kind: two processes ping-pong over two one-slot
// rings, and a child streams through one slot, every handle sleeping on the
// futex with a tick of an hour, so that only the other side's wake-up ends
// a sleep. The sleeper's "announce, then re-check" and the publisher's
// "publish, then look for sleepers" form a Dekker pair; if either loses its
// StoreLoad order a wake-up is lost, the test hangs, and the context
// deadline (then the watchdog) fails it. Never a time assertion.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

func init() {
	proctest.Register("contract-pingpong", contractChildPingPong)
	proctest.Register("contract-stream", contractChildStream)
}

// pingSize is one message of the codec's header alone: sequence, length and
// checksum. A ping carries the round number, its pong the complement, so an
// echo of the wrong message cannot pass.
const pingSize = ring.MsgHeaderSize

// wakeGuard bounds every wait with a context deadline, which becomes the
// futex timeout (the hour's tick does not shorten it): a lost wake-up, or a
// peer that died, ends in context.DeadlineExceeded and a failure that shows
// the child's stderr before the watchdog's hard exit would. A hang guard,
// not a time limit: these tests take seconds.
const wakeGuard = 90 * time.Second

// turnWait sets a handle's wait before each call: hourTick, or (jitter)
// hourTick after a random short spin, so that the sleeper's "announce, then
// re-check" lands at every distance from the other side's "publish, then
// look for sleepers": a missing fence loses a wake-up only when the two
// overlap within nanoseconds, which sleeping at once (a whole futex round
// trip apart) almost never does.
type turnWait struct {
	jitter bool
	rng    *rand.Rand
}

func newTurnWait(jitter bool, seed uint64) turnWait {
	return turnWait{jitter: jitter, rng: rand.New(rand.NewPCG(seed, 0x717))}
}

func (w turnWait) set(h interface{ SetWait(ring.WaitStrategy) }) {
	s := hourTick
	if w.jitter {
		s.Spin = w.rng.IntN(128)
	}
	h.SetWait(s)
}

// turnWaits are the two ways the tests wait, and the mode a child is told.
var turnWaits = []struct{ name, mode string }{
	{"every turn sleeps at once with an hour's tick", "sleep"},
	{"every turn spins a random while, then sleeps with an hour's tick", "jitter"},
}

// rounds scales n as the other stress tests do.
func rounds(n uint64) uint64 {
	if ring.LongRun() {
		n *= 10
	}
	if ring.RaceEnabled {
		n /= 10
	}
	return n
}

// childSetup opens the rings a contract child was named and returns its
// arguments after the kind: kind, names..., then the count and the mode.
func childSetup(nRings int) (k contractKind, rs []*ring.Ring, n uint64, w turnWait, err error) {
	a := proctest.Args()
	if len(a) != nRings+3 {
		return k, nil, 0, w, fmt.Errorf("got arguments %q, want a kind, %d ring names, a count and a mode", a, nRings)
	}
	k, ok := contractKindNamed(a[0])
	if !ok {
		return k, nil, 0, w, fmt.Errorf("no kind %q", a[0])
	}
	for _, name := range a[1 : 1+nRings] {
		r, err := ring.Open(name)
		if err != nil {
			return k, rs, 0, w, err
		}
		rs = append(rs, r)
	}
	if n, err = strconv.ParseUint(a[1+nRings], 10, 64); err != nil {
		return k, rs, 0, w, err
	}
	return k, rs, n, newTurnWait(a[2+nRings] == "jitter", 2), nil
}

func childFail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
	return 1
}

// contractChildPingPong answers each ping on the first ring with its pong
// on the second, then reports its read end's sleeps.
func contractChildPingPong() int {
	k, rs, n, w, err := childSetup(2)
	for _, r := range rs {
		defer r.Close()
	}
	if err != nil {
		return childFail("%v", err)
	}
	rd, err := k.takeReadEnd(rs[0])
	if err != nil {
		return childFail("read end: %v", err)
	}
	p, err := rs[1].Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	fmt.Println("ready")
	ctx, cancel := context.WithTimeout(context.Background(), wakeGuard)
	defer cancel()
	buf, out := make([]byte, pingSize), make([]byte, pingSize)
	for i := range n {
		w.set(rd)
		got, err := rd.Recv(ctx, buf)
		if err != nil {
			return childFail("round %d: Recv: %v", i, err)
		}
		if err := ring.CheckMessage(buf[:got], i, pingSize); err != nil {
			return childFail("round %d: ping: %v", i, err)
		}
		w.set(p)
		ring.EncodeMessage(out, ^i)
		if err := p.Send(ctx, out); err != nil {
			return childFail("round %d: Send: %v", i, err)
		}
	}
	// The parent reads the last pong, then closes its producer: this Recv
	// must be woken by that close.
	w.set(rd)
	if _, err := rd.Recv(ctx, buf); !errors.Is(err, ring.ErrClosed) {
		return childFail("Recv after the last round = %v, want ErrClosed", err)
	}
	fmt.Printf("sleeps %d\n", rd.Stats().Sleeps)
	if err := p.Close(); err != nil { // wakes the parent, asleep in Recv
		return childFail("Close: %v", err)
	}
	return 0
}

// readCount reads the child's line "<word> <count>".
func readCount(t *testing.T, c *proctest.Child, word string) uint64 {
	t.Helper()
	line, err := c.ReadLine()
	if err != nil {
		t.Fatalf("waiting for the child's %q line: %v", word, err)
	}
	var n uint64
	if _, err := fmt.Sscanf(line, word+" %d", &n); err != nil {
		t.Fatalf("the child said %q, want %q and a count: %v", line, word, err)
	}
	return n
}

// TestContractPingPongLosesNoWakeUp: round trips between two processes over
// two capacity-one rings of each kind, each read end asleep until the
// other side's publish wakes it. Each pong is checked; each side's Close
// wakes the other for ErrClosed; sleeping at once, both read ends must
// have slept (the test exercised the futex).
func TestContractPingPongLosesNoWakeUp(t *testing.T) {
	n := rounds(50_000)
	forEachKind(t, func(t *testing.T, k contractKind) {
		for _, v := range turnWaits {
			t.Run(v.name, func(t *testing.T) {
				proctest.Watchdog(t, ring.HangBound)
				ping, pong := newContractRing(t, k, pingSize, 1), newContractRing(t, k, pingSize, 1)
				rd := pong.readEnd(t)
				child := proctest.Start(t, "contract-pingpong", k.name, ping.name, pong.name, strconv.FormatUint(n, 10), v.mode)
				child.Expect("ready") // its read end has joined: the first ping reaches it
				p := ping.producer(t)
				w := newTurnWait(v.mode == "jitter", 1)
				ctx, cancel := context.WithTimeout(context.Background(), wakeGuard)
				defer cancel()
				buf, out := make([]byte, pingSize), make([]byte, pingSize)
				for i := range n {
					w.set(p)
					ring.EncodeMessage(out, i)
					if err := p.Send(ctx, out); err != nil {
						t.Fatalf("round %d: Send: %v", i, err)
					}
					w.set(rd)
					got, err := rd.Recv(ctx, buf)
					if err != nil {
						t.Fatalf("round %d: Recv: %v", i, err)
					}
					if err := ring.CheckMessage(buf[:got], ^i, pingSize); err != nil {
						t.Fatalf("round %d: pong: %v", i, err)
					}
				}
				if err := p.Close(); err != nil { // wakes the child, asleep in Recv
					t.Fatal(err)
				}
				childSleeps := readCount(t, child, "sleeps")
				w.set(rd)
				if _, err := rd.Recv(ctx, buf); !errors.Is(err, ring.ErrClosed) {
					t.Fatalf("Recv after the child closed = %v, want ErrClosed", err)
				}
				if err := child.Wait(); err != nil {
					t.Fatal(err)
				}
				if v.mode == "sleep" && (rd.Stats().Sleeps == 0 || childSleeps == 0) {
					t.Errorf("read ends slept %d (parent) and %d (child) times in %d round trips, want both > 0 (the test must exercise sleeping)", rd.Stats().Sleeps, childSleeps, n)
				}
				t.Logf("%d round trips; parent read end %+v; child read end slept %d times", n, rd.Stats(), childSleeps)
			})
		}
	})
}

// contractChildStream sends messages 0..n-1 into a capacity-one ring,
// asleep whenever it is full, closes the stream, and reports its sleeps.
func contractChildStream() int {
	_, rs, n, w, err := childSetup(1)
	for _, r := range rs {
		defer r.Close()
	}
	if err != nil {
		return childFail("%v", err)
	}
	p, err := rs[0].Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wakeGuard)
	defer cancel()
	out := make([]byte, pingSize)
	for i := range n {
		w.set(p)
		ring.EncodeMessage(out, i)
		if err := p.Send(ctx, out); err != nil {
			return childFail("Send %d: %v", i, err)
		}
	}
	sleeps := p.Stats().Sleeps
	if err := p.Close(); err != nil { // wakes the read end one last time
		return childFail("Close: %v", err)
	}
	fmt.Printf("sleeps %d\n", sleeps)
	return 0
}

// TestContractStreamThroughOneSlotLosesNoWakeUp is the producer's side of
// the handshake: a child producer streams through a capacity-one ring and
// so sleeps on a full ring nearly every message, woken by the parent's
// releases, while the parent's read end sleeps on an empty one, woken by
// the child's publishes; the child's Close must wake it for ErrClosed.
func TestContractStreamThroughOneSlotLosesNoWakeUp(t *testing.T) {
	n := rounds(50_000)
	forEachKind(t, func(t *testing.T, k contractKind) {
		if k.lossy() {
			t.Skip("a lossy reader never holds the producer back: its producer never sleeps")
		}
		for _, v := range turnWaits {
			t.Run(v.name, func(t *testing.T) {
				proctest.Watchdog(t, ring.HangBound)
				cr := newContractRing(t, k, pingSize, 1)
				rd := cr.readEnd(t) // joined before the first message: it gates from the start
				child := proctest.Start(t, "contract-stream", k.name, cr.name, strconv.FormatUint(n, 10), v.mode)
				w := newTurnWait(v.mode == "jitter", 3)
				ctx, cancel := context.WithTimeout(context.Background(), wakeGuard)
				defer cancel()
				buf := make([]byte, pingSize)
				for i := range n {
					w.set(rd)
					got, err := rd.Recv(ctx, buf)
					if err != nil {
						t.Fatalf("message %d: Recv: %v", i, err)
					}
					if err := ring.CheckMessage(buf[:got], i, pingSize); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
				}
				w.set(rd)
				if _, err := rd.Recv(ctx, buf); !errors.Is(err, ring.ErrClosed) {
					t.Fatalf("Recv after the last message = %v, want ErrClosed", err)
				}
				producerSleeps := readCount(t, child, "sleeps")
				if err := child.Wait(); err != nil {
					t.Fatal(err)
				}
				if v.mode == "sleep" && (producerSleeps == 0 || rd.Stats().Sleeps == 0) {
					t.Errorf("the producer slept %d and the read end %d times over %d messages through one slot, want both > 0 (the test must exercise sleeping on a full ring)", producerSleeps, rd.Stats().Sleeps, n)
				}
				t.Logf("%d messages; producer slept %d times; read end %+v", n, producerSleeps, rd.Stats())
			})
		}
	})
}
