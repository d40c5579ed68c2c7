package ring

// A peer killed with SIGKILL: the survivor gets ErrPeerDead instead of
// waiting forever, and a new process takes the role over where the dead one
// left the stream. A live holder of a role keeps it: ErrBusy.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

func init() {
	proctest.Register("pd-producer", childPeerDeathProducer)
	proctest.Register("pd-consumer", childPeerDeathConsumer)
	proctest.Register("take-role", childTakeRole)
}

// peerDeathMsgSize is the size of every message in these tests.
const peerDeathMsgSize = 32

// childPeerDeathProducer takes the producer role, says "ready", sends
// messages first..first+count-1, says "sent", and then either closes the
// stream ("close") or hangs holding the role until it is killed ("hang").
func childPeerDeathProducer() int {
	a := childArgs(4)
	name, first, count, then := a[0], mustUint(a[1]), mustUint(a[2]), a[3]
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	fmt.Println("ready")
	msg := make([]byte, peerDeathMsgSize)
	for seq := first; seq < first+count; seq++ {
		encodeMessage(msg, seq)
		if err := p.Send(context.Background(), msg); err != nil {
			return childFail("Send %d: %v", seq, err)
		}
	}
	fmt.Println("sent")
	if then == "hang" {
		hangForever()
	}
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

// childPeerDeathConsumer takes the consumer role and says "ready". Then,
// "hold K": it receives and releases K messages, receives one more without
// releasing it, says "holding SEQ" and hangs until it is killed. "drain":
// it receives until the stream closes, checking that the sequence numbers
// run on without a gap from the first, and says "first F last L count N".
func childPeerDeathConsumer() int {
	a := childArgs(3)
	name, mode, k := a[0], a[1], mustUint(a[2])
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		return childFail("Consumer: %v", err)
	}
	fmt.Println("ready")
	ctx := context.Background()
	var first, seq uint64
	for n := uint64(0); ; n++ {
		if mode == "hold" && n == k {
			m, err := c.Receive(ctx) // leased, never released
			if err != nil {
				return childFail("Receive: %v", err)
			}
			if err := checkMessage(m, seq, peerDeathMsgSize); n > 0 && err != nil {
				return childFail("held message: %v", err)
			}
			fmt.Printf("holding %d\n", seqOf(m))
			hangForever()
		}
		buf := make([]byte, peerDeathMsgSize)
		got, err := c.Recv(ctx, buf)
		if mode == "drain" && errors.Is(err, ErrClosed) {
			fmt.Printf("first %d last %d count %d\n", first, seq-1, n)
			return 0
		}
		if err != nil {
			return childFail("Recv after %d messages: %v", n, err)
		}
		if n == 0 {
			first, seq = seqOf(buf[:got]), seqOf(buf[:got])
		}
		if err := checkMessage(buf[:got], seq, peerDeathMsgSize); err != nil {
			return childFail("%v", err)
		}
		seq++
	}
}

func seqOf(m []byte) uint64 {
	if len(m) < 8 {
		return ^uint64(0)
	}
	return binary.LittleEndian.Uint64(m)
}

// childTakeRole tries to take a role and says "busy" (ErrBusy), "held"
// (it now holds it, until the line "release" on stdin) or "error: …".
func childTakeRole() int {
	a := childArgs(2)
	name, role := a[0], a[1]
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	var h interface{ Close() error }
	if role == "producer" {
		var p *Producer
		p, err = r.Producer()
		h = p
	} else {
		var c *Consumer
		c, err = r.Consumer()
		h = c
	}
	switch {
	case errors.Is(err, ErrBusy):
		fmt.Println("busy")
		return 0
	case err != nil:
		fmt.Printf("error: %v\n", err)
		return 0
	}
	fmt.Println("held")
	if in := bufio.NewScanner(os.Stdin); !in.Scan() || in.Text() != "release" {
		return childFail("want the line \"release\" on stdin, got %q (%v)", in.Text(), in.Err())
	}
	if err := h.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	fmt.Println("released")
	return 0
}

// peerDeathWaits are the wait strategies a survivor may use: sleeping (the
// futex times out once a tick to probe the peer), and polling without
// sleeping. WaitSpin polls 2^30 times before its first probe, about a
// second natively and a minute under the race detector, so it runs only
// without it.
func peerDeathWaits() []struct {
	name string
	wait WaitStrategy
} {
	waits := []struct {
		name string
		wait WaitStrategy
	}{
		{"DefaultWait", DefaultWait},
		{"WaitSleep", WaitSleep},
		{"polling without sleep", WaitStrategy{Spin: 1 << 10, Yield: 16, Sleep: false}},
	}
	if !raceEnabled {
		waits = append(waits, struct {
			name string
			wait WaitStrategy
		}{"WaitSpin", WaitSpin})
	}
	return waits
}

// killChild SIGKILLs c and waits until it is gone (its role lock with it).
func killChild(t *testing.T, c *proctest.Child) {
	t.Helper()
	c.Kill()
	if err := c.Wait(); err == nil {
		t.Fatal("the child exited normally before it was killed")
	}
}

// TestPeerDeathOfAProducer: a producer process killed with SIGKILL, with
// messages published and not yet received. The consumer still receives all
// of them (a dead producer's published messages are not lost), then its
// blocking Receive returns ErrPeerDead instead of waiting forever (the
// watchdog guards the "bounded time"). A new producer process then takes
// the role (not ErrBusy) and continues the stream exactly where the dead
// one stopped; the consumer receives it in order up to ErrClosed.
func TestPeerDeathOfAProducer(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const sent, readBefore, more = 6, 4, 40
	for _, w := range peerDeathWaits() {
		for _, ro := range peerDeathRings(8) {
			t.Run("a consumer with "+w.name+" on "+ro.name, func(t *testing.T) {
				r := newTestRing(t, ro.o)
				c, err := r.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				c.SetWait(w.wait)
				ctx := context.Background()
				buf := make([]byte, 64)
				recv := func(seq uint64) {
					t.Helper()
					n, err := c.Recv(ctx, buf)
					if err != nil {
						t.Fatalf("Recv of message %d: %v", seq, err)
					}
					if err := checkMessage(buf[:n], seq, peerDeathMsgSize); err != nil {
						t.Fatal(err)
					}
				}

				dead := proctest.Start(t, "pd-producer", r.Name(), "0", strconv.Itoa(sent), "hang")
				dead.Expect("ready")
				dead.Expect("sent")
				for seq := range uint64(readBefore) {
					recv(seq)
				}
				// Block in Receive (most likely) before the kill lands.
				result := make(chan error, 1)
				go func() {
					for seq := uint64(readBefore); seq < sent; seq++ {
						m, err := c.Receive(ctx)
						if err != nil {
							result <- fmt.Errorf("Receive of message %d, published before the kill: %w", seq, err)
							return
						}
						err = checkMessage(m, seq, peerDeathMsgSize)
						c.Release()
						if err != nil {
							result <- err
							return
						}
					}
					_, err := c.Receive(ctx)
					result <- err
				}()
				killChild(t, dead)
				if err := <-result; !errors.Is(err, ErrPeerDead) {
					t.Fatalf("Receive after the producer was killed = %v, want ErrPeerDead", err)
				}

				heir := proctest.Start(t, "pd-producer", r.Name(), strconv.Itoa(sent), strconv.Itoa(more), "close")
				heir.Expect("ready") // it took the role: no ErrBusy from a dead holder
				for seq := uint64(sent); seq < sent+more; seq++ {
					recv(seq)
				}
				if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
					t.Fatalf("Recv after the new producer's last message = %v, want ErrClosed", err)
				}
				heir.Expect("sent")
				if err := heir.Wait(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestPeerDeathOfAConsumer: a consumer process that released some messages
// and holds one more (received, not released) is killed with SIGKILL while
// the producer fills the ring. The producer's blocking Send on the full ring
// returns ErrPeerDead instead of waiting forever. A new consumer process
// takes the role over and receives from the first message the dead one had
// not released: the held message is delivered again (at-least-once across
// a consumer's death), and every later one exactly once, in order.
func TestPeerDeathOfAConsumer(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const slots, released, more = 8, 3, 40
	for _, w := range peerDeathWaits() {
		for _, ro := range peerDeathRings(slots) {
			t.Run("a producer with "+w.name+" on "+ro.name, func(t *testing.T) {
				r := newTestRing(t, ro.o)
				p, err := r.Producer()
				if err != nil {
					t.Fatal(err)
				}
				p.SetWait(w.wait)
				ctx := context.Background()
				msg := make([]byte, peerDeathMsgSize)
				seq := uint64(0)
				for ; seq <= released; seq++ { // released ones, and the one to be held
					encodeMessage(msg, seq)
					if err := p.TrySend(msg); err != nil {
						t.Fatalf("TrySend %d: %v", seq, err)
					}
				}

				dead := proctest.Start(t, "pd-consumer", r.Name(), "hold", strconv.Itoa(released))
				dead.Expect("ready")
				dead.Expect(fmt.Sprintf("holding %d", released))
				// Fill the ring: the held message occupies one slot.
				for ; ; seq++ {
					encodeMessage(msg, seq)
					err := p.TrySend(msg)
					if errors.Is(err, ErrFull) {
						break
					}
					if err != nil {
						t.Fatalf("TrySend %d: %v", seq, err)
					}
				}
				if want := uint64(released + slots); seq != want && !r.Records() { // a record ring's count depends on where its records wrap
					t.Fatalf("the ring took messages up to %d, want up to %d (%d slots, %d released)", seq, want, slots, released)
				}

				killChild(t, dead)
				if err := p.Send(ctx, msg); !errors.Is(err, ErrPeerDead) {
					t.Fatalf("Send on a full ring after the consumer was killed = %v, want ErrPeerDead", err)
				}

				heir := proctest.Start(t, "pd-consumer", r.Name(), "drain", "0")
				heir.Expect("ready") // it took the role: no ErrBusy from a dead holder
				for last := seq + more; seq < last; seq++ {
					encodeMessage(msg, seq)
					if err := p.Send(ctx, msg); err != nil {
						t.Fatalf("Send %d to the new consumer: %v", seq, err)
					}
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("first %d last %d count %d", released, seq-1, seq-released)
				heir.Expect(want)
				if err := heir.Wait(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// peerDeathRings are the rings the peer-death tests run on: an SPSC slot
// ring of slots slots, and an SPSC record ring of about as many messages.
func peerDeathRings(slots int) []struct {
	name string
	o    Options
} {
	return []struct {
		name string
		o    Options
	}{
		{"a slot ring", Options{Kind: SPSC, SlotSize: 64, Slots: slots}},
		{"a record ring", Options{Kind: SPSC, Records: true, Capacity: slots * 64, MaxMessage: 64}},
	}
}

// TestASecondLiveHolderOfARoleIsErrBusy: while a live process holds a role,
// taking it again fails with ErrBusy, whether from the same Ring, another
// Open of the file in the same process, or another process; once the holder
// lets go the role can be taken again.
func TestASecondLiveHolderOfARoleIsErrBusy(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, role := range []string{"producer", "consumer"} {
		take := func(r *Ring) (io.Closer, error) {
			if role == "producer" {
				return r.Producer()
			}
			return r.Consumer()
		}
		t.Run("a second "+role+" in this process", func(t *testing.T) {
			r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
			other, err := Open(r.Name())
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			h, err := take(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				how string
				r   *Ring
			}{{"the same Ring", r}, {"another Open of the file", other}} {
				if _, err := take(tc.r); !errors.Is(err, ErrBusy) {
					t.Errorf("%s from %s while held = %v, want ErrBusy", role, tc.how, err)
				}
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			h, err = take(other)
			if err != nil {
				t.Fatalf("%s after the holder closed = %v, want it taken", role, err)
			}
			h.Close()
		})
		t.Run("a second "+role+" in another process", func(t *testing.T) {
			r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
			h, err := take(r)
			if err != nil {
				t.Fatal(err)
			}
			child := proctest.Start(t, "take-role", r.Name(), role)
			child.Expect("busy")
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a "+role+" held by another process", func(t *testing.T) {
			r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
			child := proctest.Start(t, "take-role", r.Name(), role)
			child.Expect("held")
			if _, err := take(r); !errors.Is(err, ErrBusy) {
				t.Errorf("%s while another process holds it = %v, want ErrBusy", role, err)
			}
			if err := child.WriteLine("release"); err != nil {
				t.Fatal(err)
			}
			child.Expect("released")
			h, err := take(r)
			if err != nil {
				t.Fatalf("%s after the other process let go = %v, want it taken", role, err)
			}
			h.Close()
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
