package ring

import (
	"errors"
	"fmt"
	"testing"
)

// A consumer that dies holding a batch lease: every message of the batch
// is redelivered once, marked, in order, and nothing else is.
func TestMPMCDeadConsumersBatchIsRedeliveredWhole(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		if k == MPSC {
			t.Skip("one consumer")
		}
		r := newMPMCRing(t, k, file, 16, 8, Options{})
		p, c1, c2 := mustProducer(t, r), mustConsumer(t, r), mustConsumer(t, r)
		c2.SetWait(fastTick)
		ctx := waitCtx(t)
		for i := range 5 {
			if err := p.Send(ctx, fmt.Appendf(nil, "m%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		batch, err := c1.ReceiveBatch(ctx, 3)
		if err != nil || batch.Len() != 3 {
			t.Fatalf("ReceiveBatch = %d messages, %v; want 3", batch.Len(), err)
		}
		presumeDead(t, c1)
		if err := p.Close(); err != nil { // the stream ends after m4
			t.Fatal(err)
		}
		var got []string
		var marked []bool
		buf := make([]byte, 16)
		for {
			n, err := c2.Recv(ctx, buf)
			if errors.Is(err, ErrClosed) {
				break
			}
			if err != nil {
				t.Fatalf("Recv after %q: %v", got, err)
			}
			got = append(got, string(buf[:n]))
			marked = append(marked, c2.Redelivered())
		}
		want := map[string]bool{"m0": true, "m1": true, "m2": true, "m3": false, "m4": false}
		if len(got) != len(want) {
			t.Fatalf("got %q, want each of m0..m4 once", got)
		}
		for i, m := range got {
			redeliver, ok := want[m]
			if !ok {
				t.Fatalf("got %q: %q twice or unknown", got, m)
			}
			delete(want, m)
			if marked[i] != redeliver {
				t.Errorf("%s: Redelivered() = %v, want %v (got %q)", m, marked[i], redeliver, got)
			}
		}
		if st := c2.Stats(); st.Redelivered != 3 {
			t.Errorf("stats %+v, want 3 redelivered", st)
		}
	})
}

// A producer that dies holding a batch claim: each claimed position is
// skipped, counted, and the stream goes on past them.
func TestMPMCDeadProducersBatchIsSkippedWhole(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 8, Options{})
		p1, p2, c := mustProducer(t, r), mustProducer(t, r), mustConsumer(t, r)
		c.SetWait(fastTick)
		ctx := waitCtx(t)
		if err := p2.Send(ctx, []byte("before")); err != nil {
			t.Fatal(err)
		}
		b, err := p1.ClaimBatch(ctx, 3)
		if err != nil || b.Len() != 3 {
			t.Fatalf("ClaimBatch = %d slots, %v; want 3", b.Len(), err)
		}
		copy(b.Slot(0), "torn")
		presumeDead(t, p1)
		if err := p2.Send(ctx, []byte("after")); err != nil {
			t.Fatal(err)
		}
		if err := p2.Close(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		var got []string
		for {
			n, err := c.Recv(ctx, buf)
			if errors.Is(err, ErrClosed) || errors.Is(err, ErrPeerDead) {
				break
			}
			if err != nil {
				t.Fatalf("Recv after %q: %v", got, err)
			}
			got = append(got, string(buf[:n]))
		}
		if len(got) != 2 || got[0] != "before" || got[1] != "after" {
			t.Fatalf("got %q, want [before after]: the dead producer's batch carries no message", got)
		}
		if st := c.Stats(); st.Skipped != 3 {
			t.Errorf("consumer stats %+v, want 3 skipped", st)
		}
	})
}
