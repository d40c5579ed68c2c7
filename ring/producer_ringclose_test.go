//go:build linux

package ring

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestRingCloseAfterAPublishLosesNothing: Ring.Close runs to its end (the
// ring unmapped) right after a producer's call on another handle of the
// ring stored what publishes its messages, before the wake-up that follows
// faults on the unmapped ring. The messages are in the ring, where the
// consumer (or reader) gets them, so the call says they were sent: nil, and
// SendBatch its count. It said ErrClosed, and a caller that sent them again
// elsewhere delivered them twice. (Known gap of the last two sessions,
// found by a black-box tester racing Ring.Close with sends.) The ring has
// carried messages before: SendBatch said 5 for 2 on a producer's first
// call, counting from zero what the engine counts from its cursor (a
// reviewer).
func TestRingCloseAfterAPublishLosesNothing(t *testing.T) {
	requireStepHook(t)
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	kinds := []Options{
		{Kind: SPSC, SlotSize: 64, Slots: 8},
		{Kind: SPSC, Records: true, Capacity: 1024},
		{Kind: MPMC, SlotSize: 64, Slots: 8},
		{Kind: MPSC, SlotSize: 64, Slots: 8},
		{Kind: Broadcast, SlotSize: 64, Slots: 8},
		{Kind: Broadcast, Records: true, Capacity: 1024},
	}
	calls := map[string]func(context.Context, *Producer, [][]byte) (int, error){
		"Send":    func(ctx context.Context, p *Producer, m [][]byte) (int, error) { return 1, p.Send(ctx, m[0]) },
		"TrySend": func(_ context.Context, p *Producer, m [][]byte) (int, error) { return 1, p.TrySend(m[0]) },
		"Commit": func(ctx context.Context, p *Producer, m [][]byte) (int, error) {
			s, err := p.Claim(ctx)
			if err != nil {
				return 0, err
			}
			return 1, p.Commit(copy(s, m[0]))
		},
		"SendBatch": func(ctx context.Context, p *Producer, m [][]byte) (int, error) { return p.SendBatch(ctx, m) },
	}
	for _, o := range kinds {
		for name, call := range calls {
			t.Run(fmt.Sprintf("%v/records=%v/%s", o.Kind, o.Records, name), func(t *testing.T) {
				r := newTestRing(t, o)
				ctx, cancel := context.WithTimeout(context.Background(), HangBound)
				defer cancel()
				var rd *Reader
				if o.Kind == Broadcast {
					rd = mustReader(t, r, ReaderOptions{Policy: Lossless})
				}
				carried(ctx, t, r, rd) // a new producer's counts start past them
				other := openAgain(t, r)
				p := mustProducer(t, other)
				msgs := [][]byte{make([]byte, 32), make([]byte, 32)}
				for i, m := range msgs {
					encodeMessage(m, uint64(i))
				}
				armed := true
				setStepHook(func(s step) {
					if s == stepAfterPublish && armed {
						armed = false
						other.Close()
					}
				})
				n, err := call(ctx, p, msgs)
				setStepHook(nil)
				if armed {
					t.Fatalf("the call never published (n=%d, err %v)", n, err)
				}
				if err != nil {
					t.Fatalf("a call cut after its publishing store = %d, %v; want its messages sent and nil", n, err)
				}
				want := n
				if name == "SendBatch" && o.Kind != MPMC && o.Kind != MPSC && n != len(msgs) {
					t.Errorf("SendBatch = %d; want %d: one store published the whole batch", n, len(msgs))
				}
				got := drainSent(ctx, t, r, rd)
				if got != want {
					t.Fatalf("the consumer got %d messages; the cut call said it sent %d", got, want)
				}
			})
		}
	}
}

// carried sends three messages through r with a producer that then
// closes, and receives them (with rd, or a consumer that then closes): the
// ring has carried traffic before the test's producer takes the role.
func carried(ctx context.Context, t *testing.T, r *Ring, rd *Reader) {
	t.Helper()
	p := mustProducer(t, r)
	for range 3 {
		if err := p.Send(ctx, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	var c *Consumer
	if rd == nil {
		c = mustConsumer(t, r)
		defer c.Close()
	}
	buf := make([]byte, 64)
	for range 3 {
		var err error
		if rd != nil {
			_, err = rd.Recv(ctx, buf)
		} else {
			_, err = c.Recv(ctx, buf)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// drainSent receives from r (its reader rd on a broadcast ring, else a new
// consumer) until a short wait finds nothing more, checks each message is
// the next in sequence from 0, and says how many it got.
func drainSent(ctx context.Context, t *testing.T, r *Ring, rd *Reader) int {
	t.Helper()
	var c *Consumer
	if rd == nil {
		c = mustConsumer(t, r)
	}
	buf := make([]byte, 64)
	for seq := 0; ; seq++ {
		rctx, rcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		var k int
		var err error
		if rd != nil {
			k, err = rd.Recv(rctx, buf)
		} else {
			k, err = c.Recv(rctx, buf)
		}
		rcancel()
		if err != nil {
			return seq // the deadline, or the stream's end after its last message
		}
		if err := checkMessage(buf[:k], uint64(seq), 32); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRingCloseAfterAReaderMovedOnLosesNothing: Ring.Close runs to its end
// right after a broadcast reader's Recv or Release on another handle of
// the ring stored its cursor, past a message it copied and validated (or,
// Release, read in place and validated). What it read is good, so the call
// says so: the message and nil. It said ErrClosed, and the caller dropped a
// message it had whole. (The reader's side of the gap above.)
func TestRingCloseAfterAReaderMovedOnLosesNothing(t *testing.T) {
	requireStepHook(t)
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	for _, o := range []Options{
		{Kind: Broadcast, SlotSize: 64, Slots: 8},
		{Kind: Broadcast, Records: true, Capacity: 1024},
	} {
		for _, policy := range []Policy{Lossy, Lossless} {
			for _, recv := range []bool{true, false} {
				t.Run(fmt.Sprintf("records=%v/%v/recv=%v", o.Records, policy, recv), func(t *testing.T) {
					r := newTestRing(t, o)
					ctx, cancel := context.WithTimeout(context.Background(), HangBound)
					defer cancel()
					p := mustProducer(t, r)
					m := make([]byte, 32)
					encodeMessage(m, 0)
					if err := p.Send(ctx, m); err != nil {
						t.Fatal(err)
					}
					other := openAgain(t, r)
					rd := mustReader(t, other, ReaderOptions{Policy: policy})
					armed := true
					setStepHook(func(s step) {
						if s == stepAfterRelease && armed {
							armed = false
							other.Close()
						}
					})
					buf := make([]byte, 64)
					n, err := takeOne(ctx, rd, buf, recv)
					setStepHook(nil)
					if armed {
						t.Fatalf("the call never stored its cursor (err %v)", err)
					}
					if err != nil {
						t.Fatalf("a call cut after its cursor store = %v, want message 0 and nil", err)
					}
					if err := checkMessage(buf[:n], 0, 32); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

// TestRingCloseInsideAnMPMCSendBatchLeavesNoClaim: Ring.Close runs to its
// end while an MPMC or MPSC SendBatch on another handle copies its second
// message. The batch said it sent the first, the first arrives, and
// nothing of the batch's claim is left stamped: a later producer's message
// and the end of the stream come after it. The claim was let go of before
// its publishes began, so Close skipped nothing and the unmap left the
// rest Claimed; at the end of the stream consumers said ErrClosed at that
// slot with messages behind it, for good. (From a black-box tester.)
func TestRingCloseInsideAnMPMCSendBatchLeavesNoClaim(t *testing.T) {
	requireStepHook(t)
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	for _, kind := range []Kind{MPMC, MPSC} {
		t.Run(kind.String(), func(t *testing.T) {
			r := newTestRing(t, Options{Kind: kind, SlotSize: 64, Slots: 8})
			ctx, cancel := context.WithTimeout(context.Background(), HangBound)
			defer cancel()
			other := openAgain(t, r)
			p := mustProducer(t, other)
			msgs := make([][]byte, 4)
			for i := range msgs {
				msgs[i] = make([]byte, 32)
				encodeMessage(msgs[i], uint64(i))
			}
			copies := 0
			setStepHook(func(s step) {
				if s == stepMidPayload {
					if copies++; copies == 2 {
						other.Close()
					}
				}
			})
			n, err := p.SendBatch(ctx, msgs)
			setStepHook(nil)
			if n != 1 || err != nil && !errors.Is(err, ErrClosed) {
				t.Fatalf("SendBatch cut in its second message = %d, %v; want 1 (and nil or ErrClosed)", n, err)
			}
			last := mustProducer(t, r) // a later producer: its message, then the end
			m := make([]byte, 32)
			encodeMessage(m, 1)
			if err := last.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			last.Close()
			c := mustConsumer(t, r)
			buf := make([]byte, 64)
			for seq := range uint64(2) {
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				k, err := c.Recv(rctx, buf)
				rcancel()
				if err != nil {
					t.Fatalf("message %d: %v (a claim of the cut batch hides it)", seq, err)
				}
				if err := checkMessage(buf[:k], seq, 32); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("after the last message: %v, want ErrClosed", err)
			}
		})
	}
}

// TestAnEndedStreamSkipsAClaimItsProducerLeft: a claim at the head whose
// producer is gone (here an MPMC Send that the Ring's Close cut between
// its claim and its publish: Close cannot see a Send's claim) is skipped
// when the stream has ended, so what a later producer published behind it
// arrives before ErrClosed. Consumers said ErrClosed at the claim, with
// the message behind it, for good: only a waiting consumer's probe
// repaired such a claim, and an ended stream does not wait. (From a
// black-box tester.)
func TestAnEndedStreamSkipsAClaimItsProducerLeft(t *testing.T) {
	requireStepHook(t)
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: 64, Slots: 8})
	ctx, cancel := context.WithTimeout(context.Background(), HangBound)
	defer cancel()
	other := openAgain(t, r)
	p := mustProducer(t, other)
	armed := true
	setStepHook(func(s step) {
		if s == stepAfterClaim && armed {
			armed = false
			other.Close()
		}
	})
	err := p.Send(ctx, make([]byte, 32))
	setStepHook(nil)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("a Send cut after its claim = %v, want ErrClosed", err)
	}
	last := mustProducer(t, r)
	m := make([]byte, 32)
	encodeMessage(m, 0)
	if err := last.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	last.Close()
	c := mustConsumer(t, r)
	buf := make([]byte, 64)
	k, err := c.Recv(ctx, buf)
	if err != nil {
		t.Fatalf("the message behind the left claim: %v", err)
	}
	if err := checkMessage(buf[:k], 0, 32); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the last message: %v, want ErrClosed", err)
	}
	if st := c.Stats(); st.Skipped != 1 {
		t.Errorf("Stats.Skipped = %d, want 1 (the left claim)", st.Skipped)
	}
}

// TestRingCloseInsideABroadcastBatchCountsWhatReadersGet: on a broadcast
// slot ring a message is out once its slot's seq is stored: readers go by
// the seq, and the next producer adopts what is published past the cursor.
// A SendBatch that the Ring's Close cuts after the first message's seq and
// before the cursor store says it sent that one, which the reader gets.
// It said ErrClosed, counting from the cursor store. (From a black-box
// tester: 5-18 ErrClosed sends per 1,000 cuts reached the readers.)
func TestRingCloseInsideABroadcastBatchCountsWhatReadersGet(t *testing.T) {
	requireStepHook(t)
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	for _, policy := range []Policy{Lossy, Lossless} {
		t.Run(policy.String(), func(t *testing.T) {
			r := newTestRing(t, Options{Kind: Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2})
			ctx, cancel := context.WithTimeout(context.Background(), HangBound)
			defer cancel()
			rd := mustReader(t, r, ReaderOptions{Policy: policy})
			other := openAgain(t, r)
			p := mustProducer(t, other)
			msgs := [][]byte{make([]byte, 32), make([]byte, 32)}
			for i, m := range msgs {
				encodeMessage(m, uint64(i))
			}
			puts := 0
			setStepHook(func(s step) {
				if s == stepBeforePublish {
					if puts++; puts == 2 {
						other.Close()
					}
				}
			})
			n, err := p.SendBatch(ctx, msgs)
			setStepHook(nil)
			if got := drainSent(ctx, t, r, rd); got != n || n != 1 {
				t.Fatalf("SendBatch cut before its second seq = %d, %v; the reader got %d; want 1 and 1", n, err, got)
			}
		})
	}
}

// TestRingCloseUnderALosslessCopyIsNoTornMessage: a lossless reader copies
// without checking, for its gate keeps the producer off the slot; the
// Ring's Close lets go of the gate from its own goroutine while the copy
// runs, and the producer overwrites the slot before the ring is unmapped.
// Recv says ErrClosed, not the torn copy with nil. (From a black-box
// tester: 3 torn messages in 20,000 cuts, on record rings.)
func TestRingCloseUnderALosslessCopyIsNoTornMessage(t *testing.T) {
	requireStepHook(t)
	for _, o := range []Options{
		{Kind: Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2},
		{Kind: Broadcast, Records: true, Capacity: 512, MaxReaders: 2},
	} {
		t.Run(fmt.Sprintf("records=%v", o.Records), func(t *testing.T) {
			r := newTestRing(t, o)
			ctx, cancel := context.WithTimeout(context.Background(), HangBound)
			defer cancel()
			other, err := Open(r.Name())
			if err != nil {
				t.Fatal(err)
			}
			rd := mustReader(t, other, ReaderOptions{Policy: Lossless, Start: Latest})
			p := mustProducer(t, r)
			m := make([]byte, 32)
			encodeMessage(m, 0)
			if err := p.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			atUnmap, unmap, closed := make(chan struct{}), make(chan struct{}), make(chan struct{})
			var reading, unmapping bool
			setStepHook(func(s step) {
				switch {
				case s == stepMidRead && !reading:
					reading = true
					go func() { other.Close(); close(closed) }()
					// The gate is let go of, the mapping still there: the
					// producer writes over the slot being copied.
					<-atUnmap
					for seq := uint64(1); seq <= 32; seq++ {
						encodeMessage(m, seq)
						if err := p.Send(ctx, m); err != nil {
							t.Errorf("send %d with the gate gone: %v", seq, err)
							return
						}
					}
				case s == stepUnmapping && !unmapping:
					unmapping = true
					close(atUnmap)
					<-unmap
				}
			})
			buf := make([]byte, 64)
			n, err := rd.Recv(ctx, buf)
			setStepHook(nil)
			close(unmap)
			if !reading {
				t.Fatalf("the copy never reached its midpoint (Recv = %d, %v)", n, err)
			}
			<-closed
			if err == nil {
				if cerr := checkMessage(buf[:n], 0, 32); cerr != nil {
					t.Fatalf("Recv under the Ring's Close = a torn message and nil: %v", cerr)
				}
			} else if !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv under the Ring's Close = %v, want message 0 or ErrClosed", err)
			}
		})
	}
}

// openAgain opens r's file as a second Ring of this process, closed when
// the test ends: a handle whose Close the test may run in the middle of a
// call, the ring staying mapped through r.
func openAgain(t *testing.T, r *Ring) *Ring {
	t.Helper()
	other, err := Open(r.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// takeOne takes one message into buf from a Consumer or a Reader
// (receiver, reset_test.go): by Recv, or by Receive, a copy and Release.
func takeOne(ctx context.Context, h receiver, buf []byte, recv bool) (int, error) {
	if recv {
		return h.Recv(ctx, buf)
	}
	msg, err := h.Receive(ctx)
	if err != nil {
		return 0, err
	}
	n := copy(buf, msg)
	return n, h.Release()
}
