package ring_test

// A peer process killed with SIGKILL, on every kind: what it published is
// still delivered, and then both the blocking calls and the Try calls say
// ErrPeerDead. A caller that polls TryRecv (or TrySend) in its own loop,
// as low-latency code does, never learns of the death otherwise: the ring
// stays empty (or full) for ever.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

func init() { proctest.Register("contract-hold", contractChildHold) }

// contractChildHold takes a role on the ring and holds it until it is
// killed: "producer N" sends messages 0..N-1 first; "reader" takes the
// kind's read end and reads nothing. It says "ready" once it holds it.
func contractChildHold() int {
	a := proctest.Args()
	if len(a) != 4 {
		return childFail("got arguments %q, want a kind, a ring name, a role and a count", a)
	}
	k, ok := contractKindNamed(a[0])
	if !ok {
		return childFail("no kind %q", a[0])
	}
	n, err := strconv.ParseUint(a[3], 10, 64)
	if err != nil {
		return childFail("%v", err)
	}
	r, err := ring.Open(a[1])
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	switch a[2] {
	case "producer":
		p, err := r.Producer()
		if err != nil {
			return childFail("Producer: %v", err)
		}
		if err := sendN(context.Background(), p, 0, n, pingSize); err != nil {
			return childFail("%v", err)
		}
	case "reader":
		if _, err := k.takeReadEnd(r); err != nil {
			return childFail("read end: %v", err)
		}
	default:
		return childFail("no role %q", a[2])
	}
	fmt.Println("ready")
	bufio.NewScanner(os.Stdin).Scan() // killed here
	return childFail("stdin closed before the kill")
}

// holder starts a child holding role on cr's ring and returns once it
// holds it (and, as producer, has sent n messages).
func holder(t *testing.T, cr *contractRing, role string, n uint64) *proctest.Child {
	t.Helper()
	child := proctest.Start(t, "contract-hold", cr.k.name, cr.name, role, strconv.FormatUint(n, 10))
	child.Expect("ready")
	return child
}

// kill ends child with SIGKILL: its locks go with it, nothing else.
func kill(child *proctest.Child) {
	child.Kill()
	<-child.Done()
}

// pollUntil calls try until it returns something other than again, and
// returns that. The bound is a hang guard, not a time limit: a probe is
// due within a tick (10 ms) of the first failure.
func pollUntil(t *testing.T, what string, again error, try func() error) error {
	t.Helper()
	const pollGuard = 20 * time.Second
	guard := time.Now().Add(pollGuard)
	for i := 0; ; i++ {
		err := try()
		if !errors.Is(err, again) {
			return err
		}
		if i&1023 == 1023 && time.Now().After(guard) {
			t.Fatalf("%s: still %v after %v of polling: the dead peer is never noticed", what, again, pollGuard)
		}
	}
}

// TestContractTryCallsNoticeADeadPeer: the producer process dies after
// three messages. The read end receives the three, then TryRecv polled in
// a loop ends in ErrPeerDead, as a blocking Recv does. Then the read end's
// process dies with the ring full: TrySend polled in a loop ends in
// ErrPeerDead, as Send does, except on Broadcast, whose dead lossless
// reader stops gating the producer (its TrySend succeeds), and whose lossy
// reader never gated it.
func TestContractTryCallsNoticeADeadPeer(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		proctest.Watchdog(t, ring.HangBound)
		t.Run("producer killed", func(t *testing.T) {
			cr := newContractRing(t, k, pingSize, 8)
			rd := cr.readEnd(t)
			kill(holder(t, cr, "producer", 3))
			buf := make([]byte, pingSize)
			for seq := uint64(0); seq < 3; seq++ {
				n, err := rd.TryRecv(buf)
				if err != nil {
					t.Fatalf("TryRecv of message %d the dead producer published = %v", seq, err)
				}
				if err := ring.CheckMessage(buf[:n], seq, pingSize); err != nil {
					t.Fatal(err)
				}
			}
			hearsByShortWaits(t, "Recv", func(ctx context.Context) error { _, err := rd.Recv(ctx, buf); return err })
			err := pollUntil(t, "TryRecv", ring.ErrEmpty, func() error { _, err := rd.TryRecv(buf); return err })
			if !errors.Is(err, ring.ErrPeerDead) {
				t.Fatalf("TryRecv polled after the producer died = %v, want ErrPeerDead", err)
			}
			staysDead(t, rd, "TryRecv", func() error { _, err := rd.TryRecv(buf); return err },
				func(ctx context.Context) error { _, err := rd.Recv(ctx, buf); return err })
			next := holder(t, cr, "producer", 1) // a new process takes the role
			err = pollUntil(t, "TryRecv after a new producer took the role", ring.ErrEmpty, func() error { _, err := rd.TryRecv(buf); return err })
			if err != nil {
				t.Fatalf("TryRecv after a new producer took the role and sent = %v, want its message", err)
			}
			// Failed polls a tick of the default wait after the last due
			// probe: the first probes (the death found earlier is still
			// noted) and finds the new producer; the next two make a probe
			// due, and the next one after it is reckoned with the hour's
			// tick. A new wait strategy forgets that.
			time.Sleep(2 * ring.DefaultTick)
			for range 3 {
				if _, err := rd.TryRecv(buf); !errors.Is(err, ring.ErrEmpty) {
					t.Fatalf("TryRecv with a live producer that sent nothing more = %v, want ErrEmpty", err)
				}
			}
			rd.SetWait(ring.WaitStrategy{Sleep: true, Tick: time.Millisecond})
			kill(next)
			err = pollUntil(t, "TryRecv after the new producer died too, with a millisecond's tick set", ring.ErrEmpty, func() error { _, err := rd.TryRecv(buf); return err })
			if !errors.Is(err, ring.ErrPeerDead) {
				t.Fatalf("TryRecv polled after the new producer died = %v, want ErrPeerDead", err)
			}
		})
		t.Run("read end killed", func(t *testing.T) {
			if k.lossy() {
				t.Skip("a lossy reader never holds the producer back: the ring is never full")
			}
			cr := newContractRing(t, k, pingSize, 8)
			reader := holder(t, cr, "reader", 0)
			p := cr.producer(t)
			m := make([]byte, pingSize)
			var seq uint64
			err := pollUntil(t, "filling the ring", nil, func() error {
				ring.EncodeMessage(m, seq)
				err := p.TrySend(m)
				if err == nil {
					seq++
					return nil
				}
				return err
			})
			if !errors.Is(err, ring.ErrFull) {
				t.Fatalf("TrySend into a ring its live reader never reads = %v after %d messages, want ErrFull", err, seq)
			}
			kill(reader)
			ring.EncodeMessage(m, seq)
			if k.kind != ring.Broadcast { // a dead lossless reader stops gating: no death to hear
				hearsByShortWaits(t, "Send", func(ctx context.Context) error { return p.Send(ctx, m) })
			}
			err = pollUntil(t, "TrySend", ring.ErrFull, func() error { return p.TrySend(m) })
			if k.kind == ring.Broadcast {
				if err != nil {
					t.Fatalf("TrySend polled after the only lossless reader died = %v, want it to stop gating (nil)", err)
				}
				return
			}
			if !errors.Is(err, ring.ErrPeerDead) {
				t.Fatalf("TrySend polled after the consumer died = %v, want ErrPeerDead", err)
			}
			staysDead(t, p, "TrySend", func() error { return p.TrySend(m) },
				func(ctx context.Context) error { return p.Send(ctx, m) })
			next := holder(t, cr, "reader", 0) // a new process takes the role, reads nothing
			defer kill(next)
			if err := p.TrySend(m); !errors.Is(err, ring.ErrFull) {
				t.Fatalf("TrySend once a new consumer took the role = %v, want ErrFull (its live holder is seen at once)", err)
			}
		})
	})
}

// hearsByShortWaits: a caller whose blocking calls all end on their
// context before they would probe (here a context already done; a
// deadline of a millisecond is the same) hears of the dead peer too, as a
// Try poller does: each such call counts as a failed try. Before, the
// wait's own probe came only a Tick into one wait, and none got there.
func hearsByShortWaits(t *testing.T, call string, block func(context.Context) error) {
	t.Helper()
	done, stop := context.WithCancel(context.Background())
	stop()
	err := pollUntil(t, call+" with a done context, in a loop", context.Canceled, func() error { return block(done) })
	if !errors.Is(err, ring.ErrPeerDead) {
		t.Fatalf("%s with a done context, called in a loop after the peer died = %v, want ErrPeerDead", call, err)
	}
}

// staysDead: once a call said ErrPeerDead, every later call says it too
// until a new process takes the dead one's role (ErrPeerDead's promise):
// the Try call each time, not only when its probe is due, and the blocking
// call at once, not a tick later. The tick is set to an hour, so a call
// that waited for a due probe would hit the context's deadline or say
// ErrEmpty (ErrFull) instead.
func staysDead(t *testing.T, h interface{ SetWait(ring.WaitStrategy) }, try string, tryCall func() error, block func(context.Context) error) {
	t.Helper()
	h.SetWait(ring.WaitStrategy{Spin: 1 << 10, Yield: 16, Sleep: true, Adaptive: true, Tick: time.Hour})
	for i := range 100 {
		if err := tryCall(); !errors.Is(err, ring.ErrPeerDead) {
			t.Fatalf("%s call %d after one said ErrPeerDead = %v, want ErrPeerDead until a new process takes the role", try, i+2, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wakeGuard)
	defer cancel()
	if err := block(ctx); !errors.Is(err, ring.ErrPeerDead) {
		t.Fatalf("blocking call after the peer's death was reported = %v, want ErrPeerDead (at once, not after a tick of an hour)", err)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if err := block(done); !errors.Is(err, ring.ErrPeerDead) {
		t.Fatalf("blocking call with a done context after the peer's death was reported = %v, want ErrPeerDead (the call knows before it waits)", err)
	}
	if err := tryCall(); !errors.Is(err, ring.ErrPeerDead) {
		t.Fatalf("%s after a blocking call with a done context = %v, want ErrPeerDead still", try, err)
	}
}
