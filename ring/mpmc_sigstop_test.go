//go:build linux

package ring

// A stopped (SIGSTOP) process is not a dead one: nothing of its is repaired.

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// childStopProducer takes a producer, claims a slot and writes
// killedStream's message 0 into it, says "claimed", and commits it when it
// reads "commit" (it is stopped and continued in between); then says
// "committed" and closes.
func childStopProducer() int {
	name := childArgs(1)[0]
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	buf, err := p.Claim(context.Background())
	if err != nil {
		return childFail("Claim: %v", err)
	}
	encodeMessage(buf[:killMsgSize], xpSeq(killedStream, 0))
	fmt.Println("claimed")
	if line := readStdinLine(); line != "commit" {
		return childFail("want the line \"commit\" on stdin, got %q", line)
	}
	if err := p.Commit(killMsgSize); err != nil {
		return childFail("Commit after SIGCONT = %v, want it published (a stopped producer is not a dead one)", err)
	}
	fmt.Println("committed")
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

// TestMPMCStoppedProducerIsNotRepaired: a producer process stopped with
// SIGSTOP while it holds a claim keeps its liveness lock, so nothing of its
// is repaired: a consumer waiting behind its claim (with a message
// published after it) gets context.DeadlineExceeded however many times it
// probes, skips nothing and repairs nothing, and TryReceive finds nothing.
// After SIGCONT the producer commits, and the consumer receives its message
// and then the later one, intact and in order.
func TestMPMCStoppedProducerIsNotRepaired(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, w := range []struct {
		name string
		wait WaitStrategy
	}{{"a 1 ms tick", killWait}, {"DefaultWait", DefaultWait}} {
		t.Run("a consumer with "+w.name, func(t *testing.T) {
			r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 2, MaxConsumers: 1})
			c, err := r.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			c.SetWait(w.wait)
			child := proctest.Start(t, "stop-producer", r.Name())
			child.Expect("claimed")
			stopChild(t, child)

			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			msg := make([]byte, killMsgSize)
			encodeMessage(msg, xpSeq(survivorStream, 0))
			if err := p.Send(xpBounded(t), msg); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), stopWait)
			_, err = c.Receive(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Receive behind a stopped producer's claim = %v, want context.DeadlineExceeded\n%s", err, xpDump(r))
			}
			if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
				t.Fatalf("TryReceive behind a stopped producer's claim = %v, want ErrEmpty\n%s", err, xpDump(r))
			}
			if st := c.Stats(); st.Skipped != 0 || st.Repaired != 0 {
				t.Fatalf("consumer Stats Skipped=%d Repaired=%d behind a stopped producer, want 0 and 0\n%s", st.Skipped, st.Repaired, xpDump(r))
			}

			if err := child.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			if err := child.WriteLine("commit"); err != nil {
				t.Fatal(err)
			}
			child.Expect("committed")
			buf := make([]byte, killMsgSize)
			for _, want := range []uint64{xpSeq(killedStream, 0), xpSeq(survivorStream, 0)} {
				n, err := c.Recv(xpBounded(t), buf)
				if err != nil {
					t.Fatalf("Recv of %s after SIGCONT: %v\n%s", xpName(want), err, xpDump(r))
				}
				if err := checkMessage(buf[:n], want, killMsgSize); err != nil {
					t.Fatal(err)
				}
			}
			if err := child.Wait(); err != nil {
				t.Fatal(err)
			}
			p.Close()
			if _, err := c.Recv(xpBounded(t), buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv after both producers closed = %v, want ErrClosed", err)
			}
		})
	}
}

// childStopConsumer takes a consumer, receives one message and says
// "holding SEQ"; it releases it when it reads "release" (it is stopped and
// continued in between), says "released" and closes.
func childStopConsumer() int {
	name := childArgs(1)[0]
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		return childFail("Consumer: %v", err)
	}
	m, err := c.Receive(context.Background())
	if err != nil {
		return childFail("Receive: %v", err)
	}
	seq, err := xpCheck(m)
	if err != nil {
		return childFail("Receive: %v", err)
	}
	fmt.Printf("holding %d\n", seq)
	if line := readStdinLine(); line != "release" {
		return childFail("want the line \"release\" on stdin, got %q", line)
	}
	if seq2, err := xpCheck(m); err != nil || seq2 != seq {
		return childFail("the held message changed while this process was stopped: %d, %v", seq2, err)
	}
	c.Release()
	fmt.Println("released")
	if err := c.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	return 0
}

// TestMPMCStoppedConsumerIsNotRepaired: a consumer process stopped with
// SIGSTOP while it holds a message keeps its liveness lock, so its lease
// is not taken from it: a producer that filled the ring behind it gets
// context.DeadlineExceeded from Send, a surviving consumer that drained the
// rest gets context.DeadlineExceeded from Receive, and nothing is
// redelivered. After SIGCONT the stopped consumer releases its message,
// the producer's next Send goes through, and the survivor receives it: the
// held message was delivered once, to the stopped consumer.
func TestMPMCStoppedConsumerIsNotRepaired(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1, MaxConsumers: 2})
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	c.SetWait(killWait)
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	p.SetWait(killWait)
	msg := make([]byte, killMsgSize)
	send := func(ctx context.Context, k uint64) error {
		encodeMessage(msg, xpSeq(survivorStream, k))
		return p.Send(ctx, msg)
	}
	if err := send(xpBounded(t), 0); err != nil {
		t.Fatal(err)
	}
	child := proctest.Start(t, "stop-consumer", r.Name())
	child.Expect(fmt.Sprintf("holding %d", xpSeq(survivorStream, 0)))
	stopChild(t, child)

	k := uint64(1)
	for ; ; k++ {
		encodeMessage(msg, xpSeq(survivorStream, k))
		err := p.TrySend(msg)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if k != killSlots {
		t.Fatalf("the ring took messages up to %d, want up to %d (%d slots, one held)", k, killSlots, killSlots)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	err = send(ctx, k)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send on a ring full behind a stopped consumer's lease = %v, want context.DeadlineExceeded\n%s", err, xpDump(r))
	}
	buf := make([]byte, killMsgSize)
	for j := uint64(1); j < k; j++ {
		n, err := c.Recv(xpBounded(t), buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMessage(buf[:n], xpSeq(survivorStream, j), killMsgSize); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), stopWait)
	_, err = c.Receive(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive while a stopped consumer holds the only other message = %v, want context.DeadlineExceeded\n%s", err, xpDump(r))
	}
	if st := c.Stats(); st.Redelivered != 0 || st.Repaired != 0 {
		t.Fatalf("surviving consumer Stats Redelivered=%d Repaired=%d, want 0 and 0\n%s", st.Redelivered, st.Repaired, xpDump(r))
	}

	if err := child.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := child.WriteLine("release"); err != nil {
		t.Fatal(err)
	}
	child.Expect("released")
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := send(xpBounded(t), k); err != nil {
		t.Fatalf("Send after the stopped consumer released: %v", err)
	}
	n, err := c.Recv(xpBounded(t), buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMessage(buf[:n], xpSeq(survivorStream, k), killMsgSize); err != nil {
		t.Fatal(err)
	}
	if c.Redelivered() || c.Stats().Redelivered != 0 {
		t.Fatal("a message was redelivered although its consumer was only stopped")
	}
	p.Close()
	if _, err := c.Recv(xpBounded(t), buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the producer closed = %v, want ErrClosed", err)
	}
}
