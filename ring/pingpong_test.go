package ring

// Blocking ping-pong and streaming across two processes over capacity-1
// rings, every handle sleeping on the futex and never woken by its periodic
// tick: a lost wake-up hangs, and the watchdog fails the test.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

func init() {
	proctest.Register("pingpong", childPingPong)
	proctest.Register("stream-sleeping", childStreamSleeping)
}

// noTickSleep is WaitSleep with a tick of an hour: it sleeps at once and
// never wakes on its own in the life of a test, so only the peer's wake-up
// ends a sleep and a lost one hangs instead of being rescued by the
// periodic tick.
var noTickSleep = WaitStrategy{Spin: WaitSleep.Spin, Yield: WaitSleep.Yield, Sleep: true, Tick: time.Hour}

// waitJitter varies a handle's spin before it sleeps, message by message,
// so that its "announce, then re-check" lands at every distance from the
// other side's "publish, then look for sleepers": a missing StoreLoad
// fence loses a wake-up only when the two overlap within a few
// nanoseconds, which sleeping at once (a whole futex round trip apart)
// almost never does.
type waitJitter struct {
	on  bool
	rng *rand.Rand
}

func newWaitJitter(on bool, seed uint64) waitJitter {
	return waitJitter{on: on, rng: rand.New(rand.NewPCG(seed, 0x717))}
}

// set gives h its strategy for the next call.
func (j waitJitter) set(h interface{ SetWait(WaitStrategy) }) {
	if !j.on {
		h.SetWait(noTickSleep)
		return
	}
	w := noTickSleep
	w.Spin = j.rng.IntN(128)
	h.SetWait(w)
}

// wakeGuard bounds every wait in these tests with a context deadline, which
// becomes the futex timeout (the tick of an hour does not shorten it): a
// lost wake-up, or a peer that died (which a sleeper with an hour's tick
// would not notice), ends in context.DeadlineExceeded and a failure that
// shows the child's stderr, before the watchdog's hard exit would. It is a
// hang guard, not a time limit: these tests take seconds.
const wakeGuard = 90 * time.Second

func guardedContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), wakeGuard)
}

// sleepVariants are the two ways the tests below wait.
var sleepVariants = []struct {
	name   string
	jitter bool
}{
	{"WaitSleep with an hour's tick", false},
	{"a random short spin, then sleep with an hour's tick", true},
}

// pingMessage and its reply carry the round number; the reply is its
// bitwise complement, so an echo of the wrong message cannot pass.
const pingSize = 16

func putPing(b []byte, v uint64) []byte {
	binary.LittleEndian.PutUint64(b, v)
	binary.LittleEndian.PutUint64(b[8:], ^v)
	return b[:pingSize]
}

func getPing(b []byte) (uint64, error) {
	if len(b) != pingSize {
		return 0, fmt.Errorf("message of %d bytes, want %d", len(b), pingSize)
	}
	v, w := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	if v != ^w {
		return 0, fmt.Errorf("torn message %#x/%#x", v, w)
	}
	return v, nil
}

// childPingPong answers each ping on one ring with a pong on the other.
func childPingPong() int {
	a := childArgs(4)
	pingName, pongName, rounds, jitter := a[0], a[1], mustUint(a[2]), a[3] == "jitter"
	pingRing, err := Open(pingName)
	if err != nil {
		return childFail("Open(ping): %v", err)
	}
	defer pingRing.Close()
	pongRing, err := Open(pongName)
	if err != nil {
		return childFail("Open(pong): %v", err)
	}
	defer pongRing.Close()
	c, err := pingRing.Consumer()
	if err != nil {
		return childFail("Consumer: %v", err)
	}
	p, err := pongRing.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	j := newWaitJitter(jitter, 2)
	j.set(c)
	j.set(p)
	fmt.Println("ready")
	ctx, cancel := guardedContext()
	defer cancel()
	buf, out := make([]byte, pingSize), make([]byte, pingSize)
	for i := range rounds {
		j.set(c)
		n, err := c.Recv(ctx, buf)
		if err != nil {
			return childFail("round %d: Recv: %v", i, err)
		}
		v, err := getPing(buf[:n])
		if err != nil || v != i {
			return childFail("round %d: ping %d, %v; want %d", i, v, err, i)
		}
		if err := p.Send(ctx, putPing(out, ^v)); err != nil {
			return childFail("round %d: Send: %v", i, err)
		}
	}
	// The parent reads the last pong, then closes its ping stream: our
	// Recv sees ErrClosed after being woken by that close.
	j.set(c)
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		return childFail("Recv after the last round = %v, want ErrClosed", err)
	}
	fmt.Println(formatStats(c.Stats()))
	fmt.Println(formatStats(p.Stats()))
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

// TestPingPongOverCapacityOneRingsLosesNoWakeUp: 10^5 round trips between
// two processes over two capacity-1 rings, each side waiting for the other's
// message on the futex with a tick of an hour, so that only the other
// side's wake-up can end a sleep. A lost wake-up (the Dekker handshake
// between "publish, then look for sleepers" and "announce, then re-check"
// broken, with plain or release stores alike) hangs the test until its
// watchdog fails it. Each reply is checked; each side's close wakes the
// other; with WaitSleep both consumers must have slept.
func TestPingPongOverCapacityOneRingsLosesNoWakeUp(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	rounds := uint64(100_000)
	if longRun() {
		rounds *= 10
	}
	if raceEnabled {
		rounds /= 10
	}
	for _, v := range sleepVariants {
		t.Run(v.name, func(t *testing.T) {
			o := Options{Kind: SPSC, SlotSize: pingSize, Slots: 1}
			pingRing, pongRing := newTestRing(t, o), newTestRing(t, o)
			p, err := pingRing.Producer()
			if err != nil {
				t.Fatal(err)
			}
			c, err := pongRing.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			j := newWaitJitter(v.jitter, 1)
			j.set(p)
			j.set(c)
			mode := "sleep"
			if v.jitter {
				mode = "jitter"
			}
			child := proctest.Start(t, "pingpong", pingRing.Name(), pongRing.Name(), strconv.FormatUint(rounds, 10), mode)
			child.Expect("ready")
			ctx, cancel := guardedContext()
			defer cancel()
			buf, out := make([]byte, pingSize), make([]byte, pingSize)
			for i := range rounds {
				if err := p.Send(ctx, putPing(out, i)); err != nil {
					t.Fatalf("round %d: Send: %v", i, err)
				}
				j.set(c)
				n, err := c.Recv(ctx, buf)
				if err != nil {
					t.Fatalf("round %d: Recv: %v", i, err)
				}
				v, err := getPing(buf[:n])
				if err != nil || v != ^i {
					t.Fatalf("round %d: pong %#x, %v; want %#x", i, v, err, ^i)
				}
			}
			if err := p.Close(); err != nil { // wakes the child, asleep in Recv
				t.Fatal(err)
			}
			childConsumer, childProducer := readStats(t, child), readStats(t, child)
			j.set(c)
			if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) { // woken by the child's close
				t.Fatalf("Recv after the child closed = %v, want ErrClosed", err)
			}
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
			if childConsumer.Messages != rounds || childProducer.Messages != rounds {
				t.Errorf("child received %d and sent %d, want %d each", childConsumer.Messages, childProducer.Messages, rounds)
			}
			if !v.jitter {
				if got := c.Stats().Sleeps; got == 0 {
					t.Errorf("parent consumer: Stats().Sleeps=0 after %d round trips, want > 0 (the test must exercise sleeping)", rounds)
				}
				if childConsumer.Sleeps == 0 {
					t.Errorf("child consumer: Stats().Sleeps=0 after %d round trips, want > 0", rounds)
				}
			}
			t.Logf("%d round trips; parent consumer %+v producer %+v; child consumer %+v producer %+v",
				rounds, c.Stats(), p.Stats(), childConsumer, childProducer)
		})
	}
}

// childStreamSleeping sends messages 0..n-1 into a capacity-1 ring, waiting
// on the futex whenever it is full, and closes the stream.
func childStreamSleeping() int {
	a := childArgs(3)
	name, n, jitter := a[0], mustUint(a[1]), a[2] == "jitter"
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	j := newWaitJitter(jitter, 4)
	ctx, cancel := guardedContext()
	defer cancel()
	out := make([]byte, pingSize)
	for i := range n {
		j.set(p)
		if err := p.Send(ctx, putPing(out, i)); err != nil {
			return childFail("Send %d: %v", i, err)
		}
	}
	st := p.Stats()
	if err := p.Close(); err != nil { // wakes the sleeping consumer one last time
		return childFail("Close: %v", err)
	}
	fmt.Println(formatStats(st))
	return 0
}

// TestStreamingThroughACapacityOneRingLosesNoWakeUp is the other direction
// of the handshake: a child producer streams into a capacity-1 ring and so
// waits on a full ring nearly every message, woken by the parent's
// releases, while the parent waits on an empty one, woken by the child's
// publishes; the child's Close must wake the parent for ErrClosed. Ticks of
// an hour make any lost wake-up a hang that the watchdog fails.
func TestStreamingThroughACapacityOneRingLosesNoWakeUp(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	n := uint64(50_000)
	if longRun() {
		n *= 10
	}
	if raceEnabled {
		n /= 10
	}
	for _, v := range sleepVariants {
		t.Run(v.name, func(t *testing.T) {
			r := newTestRing(t, Options{Kind: SPSC, SlotSize: pingSize, Slots: 1})
			c, err := r.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			j := newWaitJitter(v.jitter, 3)
			mode := "sleep"
			if v.jitter {
				mode = "jitter"
			}
			child := proctest.Start(t, "stream-sleeping", r.Name(), strconv.FormatUint(n, 10), mode)
			ctx, cancel := guardedContext()
			defer cancel()
			buf := make([]byte, pingSize)
			for i := range n {
				j.set(c)
				k, err := c.Recv(ctx, buf)
				if err != nil {
					t.Fatalf("message %d: Recv: %v", i, err)
				}
				if v, err := getPing(buf[:k]); err != nil || v != i {
					t.Fatalf("message %d: got %d, %v", i, v, err)
				}
			}
			j.set(c)
			if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv after the last message = %v, want ErrClosed", err)
			}
			ps := readStats(t, child)
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
			if !v.jitter {
				if ps.Sleeps == 0 {
					t.Errorf("child producer: Stats().Sleeps=0 after %d messages through one slot, want > 0 (the test must exercise sleeping on a full ring)", n)
				}
				if c.Stats().Sleeps == 0 {
					t.Errorf("parent consumer: Stats().Sleeps=0 after %d messages through one slot, want > 0", n)
				}
			}
			t.Logf("%d messages; child producer %+v; parent consumer %+v", n, ps, c.Stats())
		})
	}
}
