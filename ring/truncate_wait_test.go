package ring

// A wait that ends on a shrunk file still counts itself out of the ring's
// waiters, so that Ring.Close does not sit out its wait for it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestAWaitEndedByATruncationLeavesTheRingsWaiters: a Recv asleep on an
// empty ring meets a cut of the file to one page and returns ErrTruncated;
// the ring then counts no waiter (Close waited up to a second for one that
// was gone: storing the counters on the way out faulted before the count
// fell).
func TestAWaitEndedByATruncationLeavesTheRingsWaiters(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	for _, o := range []Options{
		{Kind: SPSC, SlotSize: 256, Slots: 64},
		{Kind: MPMC, SlotSize: 256, Slots: 64},
		{Kind: Broadcast, SlotSize: 256, Slots: 64},
		{Kind: SPSC, Records: true, Capacity: 16 << 10, MaxMessage: 256},
	} {
		t.Run(fmt.Sprintf("%v records=%v", o.Kind, o.Records), func(t *testing.T) {
			r := newTestRing(t, o)
			var recv func(context.Context) error
			if o.Kind == Broadcast {
				rd, err := r.Reader(ReaderOptions{Policy: Lossless})
				if err != nil {
					t.Fatal(err)
				}
				recv = func(ctx context.Context) error { _, err := rd.Recv(ctx, make([]byte, 256)); return err }
			} else {
				c, err := r.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				recv = func(ctx context.Context) error { _, err := c.Recv(ctx, make([]byte, 256)); return err }
			}
			done := make(chan error, 1)
			go func() { done <- recv(context.Background()) }()
			for r.waiters.Load() == 0 { // asleep (or polling): counted in
				select {
				case err := <-done:
					t.Fatalf("Recv on an empty ring returned %v", err)
				case <-time.After(time.Millisecond):
				}
			}
			if err := os.Truncate(r.Path(), 4096); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !errors.Is(err, ErrTruncated) {
				t.Fatalf("Recv across the cut = %v, want ErrTruncated", err)
			}
			if n := r.waiters.Load(); n != 0 {
				t.Fatalf("the ring counts %d waiters after the only one returned, want 0: Close would wait for it", n)
			}
		})
	}
}
