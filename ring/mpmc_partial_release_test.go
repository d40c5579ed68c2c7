package ring

import (
	"errors"
	"os"
	"testing"
)

// TestABatchReleaseCutPartWayCountsWhatItConsumed: an MPMC or MPSC
// consumer's Release of a batch of two stands between its two frees when
// something cuts it. A peer that presumed the consumer dead and took the
// rest of the lease back: the first message was consumed here, the second
// comes again, so the error is a *PartialReleaseError of 1 of 2 and also
// ErrRevoked (it was a plain ErrRevoked whose count was in its text only,
// so a caller that read ErrRevoked as "nothing consumed" counted the first
// message twice). A file shrunk under the ring: ErrTruncated, no count,
// for the ring is over for every process. (From a reviewer.)
func TestABatchReleaseCutPartWayCountsWhatItConsumed(t *testing.T) {
	requireStepHook(t)
	for _, kind := range []Kind{MPMC, MPSC} {
		t.Run(kind.String()+"/a peer took the rest back", func(t *testing.T) {
			r, other, c1, ctx := cutSetup(t, Options{Kind: kind, SlotSize: 64, Slots: 8, MaxConsumers: 1})
			batch, err := c1.ReceiveBatch(ctx, 2)
			if err != nil || batch.Len() != 2 {
				t.Fatalf("ReceiveBatch = %d messages, %v; want 2", batch.Len(), err)
			}
			var c2 *Consumer
			armed := true
			setStepHook(func(s step) {
				if s != stepBetweenFrees || !armed {
					return
				}
				armed = false
				// c1's process presumed dead: its lock is gone, and the
				// one consumer entry's next holder reaps its lease.
				mpmcHandleOf(c1).lock.unlock(other)
				c2 = mustConsumer(t, r)
			})
			err = c1.Release()
			setStepHook(nil)
			mpmcHandleOf(c1).closed = true // its entry is c2's now
			if armed {
				t.Fatalf("Release never stood between its frees (err %v)", err)
			}
			var pe *PartialReleaseError
			if !errors.As(err, &pe) || pe.Consumed != 1 || pe.Leased != 2 || !errors.Is(err, ErrRevoked) || errors.Is(err, ErrClosed) {
				t.Fatalf("Release cut by a peer's repair = %#v (%v), want a *PartialReleaseError of 1 of 2, ErrRevoked", err, err)
			}
			buf := make([]byte, 64)
			for seq := uint64(1); seq < 3; seq++ {
				k, err := c2.Recv(ctx, buf)
				if err != nil {
					t.Fatalf("the peer, message %d: %v", seq, err)
				}
				if err := checkMessage(buf[:k], seq, 32); err != nil {
					t.Fatal(err)
				}
				if want := seq == 1; c2.Redelivered() != want {
					t.Errorf("message %d: Redelivered() = %v, want %v", seq, c2.Redelivered(), want)
				}
			}
			if _, err := c2.TryRecv(buf); !errors.Is(err, ErrEmpty) {
				t.Errorf("after messages 1 and 2: %v, want ErrEmpty (message 0 was consumed by the cut Release)", err)
			}
		})
		t.Run(kind.String()+"/the file shrunk", func(t *testing.T) {
			if raceEnabled {
				t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
			}
			r, _, c1, ctx := cutSetup(t, Options{Kind: kind, SlotSize: 64, Slots: 8})
			if _, err := c1.ReceiveBatch(ctx, 2); err != nil {
				t.Fatal(err)
			}
			armed := true
			setStepHook(func(s step) {
				if s == stepBetweenFrees && armed {
					armed = false
					if err := os.Truncate(r.Path(), 700); err != nil {
						t.Error(err)
					}
				}
			})
			err := c1.Release()
			setStepHook(nil)
			var pe *PartialReleaseError
			if armed || !errors.Is(err, ErrTruncated) || errors.As(err, &pe) {
				t.Fatalf("Release cut by a shrunk file = %#v (%v), want ErrTruncated and no count", err, err)
			}
		})
	}
}

// TestAPartialReleaseErrorACallerBuiltIsErrClosed: the type is exported
// with exported fields, so tests and mocks build one; it says its counts
// and is ErrClosed, not a nil dereference. (From a reviewer.)
func TestAPartialReleaseErrorACallerBuiltIsErrClosed(t *testing.T) {
	e := &PartialReleaseError{Consumed: 1, Leased: 2}
	var got string
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Error() panicked: %v", v)
			}
		}()
		got = e.Error()
	}()
	if want := ErrClosed.Error() + ": the first 1 of the 2 leased messages were consumed, the rest come again"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrClosed) {
		t.Error("a PartialReleaseError built without its cause is not ErrClosed")
	}
}
