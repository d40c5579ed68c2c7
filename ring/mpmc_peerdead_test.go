//go:build linux

package ring

// Every producer, or every consumer, dead: ErrPeerDead, and a newcomer reopens the ring.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

// stopWait is how long a caller waits behind a stopped process: many ticks
// of killWait and of DefaultWait, so that it probes the stopped holder's
// liveness many times. Not a time limit on anything.
const stopWait = 150 * time.Millisecond

// TestMPMCConsumerSeesPeerDeadWhenEveryProducerProcessDied: two producer
// processes send three messages each and are killed holding a claim. The
// consumer receives the six messages, skips the two dead claims and then
// gets ErrPeerDead instead of waiting forever. A new producer process
// reopens the stream: the consumer receives its messages, then ErrClosed
// when it closes.
func TestMPMCConsumerSeesPeerDeadWhenEveryProducerProcessDied(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 2, MaxConsumers: 1})
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	c.SetWait(killWait)
	want := map[uint64]bool{}
	var dead []*proctest.Child
	for _, first := range []uint64{0, 100} {
		child := proctest.Start(t, "kill-producer", r.Name(), stepAfterClaim.String(), strconv.FormatUint(first, 10), "3", "send")
		child.Expect("ready")
		dead = append(dead, child)
		for k := first; k < first+3; k++ {
			want[xpSeq(killedStream, k)] = true
		}
	}
	for _, child := range dead {
		if err := child.WriteLine("go"); err != nil {
			t.Fatal(err)
		}
	}
	for _, child := range dead {
		readLines(child)
		waitKilled(t, child, "a producer process killed after its claim")
	}
	ctx := xpBounded(t)
	buf := make([]byte, killMsgSize)
	recvAll := func(n int) {
		t.Helper()
		for range n {
			got, err := c.Recv(ctx, buf)
			if err != nil {
				t.Fatalf("Recv with %d messages still due: %v\n%s", len(want), err, xpDump(r))
			}
			seq, err := xpCheck(buf[:got])
			if err != nil {
				t.Fatal(err)
			}
			if !want[seq] {
				t.Fatalf("received %s, not due (a duplicate, or never committed)", xpName(seq))
			}
			delete(want, seq)
		}
	}
	recvAll(6)
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrPeerDead) {
		t.Fatalf("Recv after every producer process died = %v, want ErrPeerDead\n%s", err, xpDump(r))
	}
	if st := c.Stats(); st.Skipped != 2 {
		t.Errorf("consumer Stats.Skipped=%d, want 2 (one claim per dead producer)", st.Skipped)
	}

	heir := proctest.Start(t, "kill-producer", r.Name(), "none", "200", "4", "send")
	heir.Expect("ready")
	if err := heir.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	for k := uint64(200); k < 204; k++ {
		want[xpSeq(killedStream, k)] = true
	}
	recvAll(4)
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the new producer closed = %v, want ErrClosed\n%s", err, xpDump(r))
	}
	if err := heir.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestMPMCProducerSeesPeerDeadWhenEveryConsumerProcessDied: the only
// consumer process dies holding a message, and the producer fills the
// ring behind it: Send then returns ErrPeerDead instead of waiting
// forever. A new consumer process takes the dead one's entry, gets the
// held message first with Redelivered() true, then the rest in order.
func TestMPMCProducerSeesPeerDeadWhenEveryConsumerProcessDied(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1, MaxConsumers: 1})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	p.SetWait(killWait)
	msg := make([]byte, killMsgSize)
	k := uint64(0)
	trySend := func() error {
		encodeMessage(msg, xpSeq(survivorStream, k))
		err := p.TrySend(msg)
		if err == nil {
			k++
		}
		return err
	}
	child := proctest.Start(t, "kill-consumer", r.Name(), stepBeforeRelease.String(), "2", "receive")
	child.Expect("ready")
	for range 3 {
		if err := trySend(); err != nil {
			t.Fatal(err)
		}
	}
	if err := child.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	lines := readLines(child)
	waitKilled(t, child, "a consumer process killed before its release")
	if want := []string{"got 0 0", "got 1 0", "got 2 0"}; fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("the consumer process said %q, want %q", lines, want)
	}
	for {
		err := trySend()
		if errors.Is(err, ErrFull) || errors.Is(err, ErrPeerDead) { // a Try call that finds the ring full may probe at once
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if k != 3+killSlots-1 {
		t.Fatalf("the ring took messages up to %d, want up to %d (one slot held by the dead consumer)", k, 3+killSlots-1)
	}
	encodeMessage(msg, xpSeq(survivorStream, k))
	if err := p.Send(xpBounded(t), msg); !errors.Is(err, ErrPeerDead) {
		t.Fatalf("Send on a ring full behind the only, dead, consumer = %v, want ErrPeerDead\n%s", err, xpDump(r))
	}

	heir := proctest.Start(t, "kill-consumer", r.Name(), "none", strconv.FormatUint(k-2, 10), "receive")
	heir.Expect("ready")
	if err := heir.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	lines = readLines(heir)
	if err := heir.Wait(); err != nil {
		t.Fatalf("the new consumer process: %v", err)
	}
	want := []string{"got 2 1"}
	for j := uint64(3); j < k; j++ {
		want = append(want, fmt.Sprintf("got %d 0", xpSeq(survivorStream, j)))
	}
	want = append(want, "closed")
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("the new consumer process said %q, want %q (the dead one's held message first, marked, then the rest)\n%s", lines, want, xpDump(r))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMPMCARestartedProducerWaitsForAReaperAtWork: a producer process is
// killed holding a claim, and a peer reaping its entry holds the entry's
// lock while it repairs. A producer restarted meanwhile waits for the
// repair and takes the entry, rather than reading the reaper as a live
// holder: CI saw "max producers=1 reached" when a reaper goroutine was
// preempted mid-repair for longer than the joiner's few quick looks. A
// reaper that never lets go costs the joiner a bounded wait and ErrBusy.
func TestMPMCARestartedProducerWaitsForAReaperAtWork(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, reaperLetsGo := range []bool{true, false} {
		t.Run(fmt.Sprintf("reaper lets go %v", reaperLetsGo), func(t *testing.T) {
			r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1, MaxConsumers: 1})
			c, err := r.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			child := proctest.Start(t, "kill-producer", r.Name(), stepAfterClaim.String(), "0", "0", "claim")
			child.Expect("ready")
			if err := child.WriteLine("go"); err != nil {
				t.Fatal(err)
			}
			readLines(child)
			waitKilled(t, child, "a producer process killed after its claim")

			held, err := r.lockAt(entryLockByte(0)) // a reaper mid-repair
			if err != nil {
				t.Fatal(err)
			}
			if reaperLetsGo {
				go func() {
					time.Sleep(100 * time.Millisecond) // many of the joiner's quick looks
					r.unlockAt(entryLockByte(0), held)
				}()
			} else {
				defer r.unlockAt(entryLockByte(0), held)
			}
			p, err := r.Producer()
			if !reaperLetsGo {
				if !errors.Is(err, ErrBusy) {
					t.Fatalf("Producer while a reaper holds the dead one's entry for good = %v, want ErrBusy", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Producer while a reaper repairs the dead one's entry = %v, want the entry once it is let go", err)
			}
			defer p.Close()
			ctx := xpBounded(t)
			msg := make([]byte, killMsgSize)
			encodeMessage(msg, xpSeq(killedStream, 0))
			if err := p.Send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, killMsgSize)
			n, err := c.Recv(ctx, buf)
			if err != nil {
				t.Fatalf("Recv after the dead claim = %v", err)
			}
			if err := checkMessage(buf[:n], xpSeq(killedStream, 0), killMsgSize); err != nil {
				t.Fatalf("Recv after the dead claim: %v", err)
			}
		})
	}
}

// TestMPMCACleanLastCloseAfterAConsumerDiedIsNoDeath: one consumer
// process is killed, then the last consumer closes cleanly; a producer
// filling the ring finds it full and goes on waiting, as after any clean
// Close, and a consumer that joins later gets every message. The dead
// consumer's entry, still attached, made the producer say "every consumer
// died" (ErrPeerDead) although the last one had closed (a black-box
// tester). The closing consumer now reaps it first, as a closing producer
// reaps its side's.
func TestMPMCACleanLastCloseAfterAConsumerDiedIsNoDeath(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const slots = 4
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: slots, MaxProducers: 1, MaxConsumers: 2})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	p.SetWait(killWait)
	last, err := r.Consumer() // first, so that the dead one's entry is another
	if err != nil {
		t.Fatal(err)
	}
	dead := proctest.Start(t, "take-role", r.Name(), "consumer")
	dead.Expect("held")
	dead.Kill()
	<-dead.Done()
	if err := last.Close(); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, killMsgSize)
	for k := range uint64(slots) {
		encodeMessage(msg, xpSeq(survivorStream, k))
		if err := p.TrySend(msg); err != nil {
			t.Fatalf("TrySend of message %d = %v", k, err)
		}
	}
	if err := p.TrySend(msg); !errors.Is(err, ErrFull) {
		t.Fatalf("TrySend on the full ring after the last consumer closed = %v, want ErrFull", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	if err := p.Send(ctx, msg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send on the full ring after the last consumer closed = %v, want the context's deadline", err)
	}
	next, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	buf := make([]byte, killMsgSize)
	for k := range uint64(slots) {
		n, err := next.TryRecv(buf)
		if err != nil {
			t.Fatalf("TryRecv of message %d = %v", k, err)
		}
		if err := checkMessage(buf[:n], xpSeq(survivorStream, k), killMsgSize); err != nil || next.Redelivered() {
			t.Fatalf("message %d: %v (redelivered %v)", k, err, next.Redelivered())
		}
	}
}
