package ring

import (
	"context"
	"errors"
	"testing"
)

// TestRecordReaderJoinsAStreamInProgress: readers that join a broadcast
// record ring holding messages start where they say: Oldest at the oldest
// record the ring holds (a lossless joiner reading the ones published before
// it joined as validated copies), Latest after the last one; Lag counts the
// messages they have yet to read; a lossy reader that falls a ring behind
// is told exactly how many it missed and resumes at the oldest record.
func TestRecordReaderJoinsAStreamInProgress(t *testing.T) {
	forEachBacking(t, func(t *testing.T, heap bool) {
		o := Options{Kind: Broadcast, Records: true, Capacity: 1024, MaxMessage: 100, MaxReaders: 4}
		var r *Ring
		if heap {
			var err error
			if r, err = newHeapRing(uniqueName(t), o); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
		} else {
			r = newTestRing(t, o)
		}
		ctx := context.Background()
		p := mustProducer(t, r)
		buf := make([]byte, 100)
		send := func(first, n uint64) {
			t.Helper()
			if err := bcastSend(ctx, p, first, n, buf); err != nil {
				t.Fatal(err)
			}
		}
		send(0, 10)
		oldest := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Oldest})
		latest := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Latest})
		if got := oldest.Lag(); got != 10 {
			t.Errorf("a reader that joined at the oldest of 10 messages: Lag %d, want 10", got)
		}
		if got := latest.Lag(); got != 0 {
			t.Errorf("a reader that joined at the latest: Lag %d, want 0", got)
		}
		co := newBcastChecker(oldest, 0, 100, true)
		for co.next < 10 {
			if err := co.step(ctx, "receive"); err != nil {
				t.Fatalf("the lossless joiner, message %d: %v", co.next, err)
			}
		}
		send(10, 5)
		cl := newBcastChecker(latest, 10, 100, false)
		for co.next < 15 {
			if err := co.step(ctx, "batch"); err != nil {
				t.Fatalf("the lossless reader, message %d: %v", co.next, err)
			}
			if err := cl.step(ctx, "recv"); err != nil {
				t.Fatalf("the lossy reader, message %d: %v", cl.next, err)
			}
		}
		// The lossy reader falls behind by far more than a ring; the
		// lossless one keeps up.
		for seq := uint64(15); seq < 215; seq++ {
			send(seq, 1)
			if err := co.step(ctx, "recv"); err != nil {
				t.Fatalf("the lossless reader, message %d: %v", co.next, err)
			}
		}
		_, err := latest.Recv(ctx, buf)
		var lap *LapError
		if !errors.As(err, &lap) || lap.Missed == 0 {
			t.Fatalf("Recv of a lossy reader 200 messages behind = %v, want a *LapError", err)
		}
		cl.next += lap.Missed
		if lag := latest.Lag(); cl.next+lag != 215 {
			t.Errorf("after missing %d: next %d + Lag %d != 215 published", lap.Missed, cl.next, lag)
		}
		for cl.next < 215 {
			if err := cl.step(ctx, "receive"); err != nil {
				t.Fatalf("the lossy reader after its lap, message %d: %v", cl.next, err)
			}
		}
		if st := latest.Stats(); st.Missed != lap.Missed || st.Lapped != 1 || st.Messages+st.Missed != 215-10 {
			t.Errorf("lossy reader Stats %+v, want Missed %d, Lapped 1, Messages+Missed 205", st, lap.Missed)
		}
	})
}
