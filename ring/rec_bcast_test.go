//go:build linux

package ring

import (
	"context"
	"encoding/binary"
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

// TestRecordLossyReaderCountsALossEndingAtTheCursorExactly: a lossy reader
// overrun while the producer is between its stores of a publish, with
// RecTail moved up to the cursor (the tail intent before it overwrites
// what lies there) and RecSeq already the next publish's (stored before
// the cursor), resumes at the cursor. What it missed must be counted from
// the Seq of the record the producer then publishes there, not from
// RecSeq: counted from RecSeq, Missed was one too many, and received +
// missed overtook what was published. The publish in flight is forged
// here; a black-box tester met it between processes.
func TestRecordLossyReaderCountsALossEndingAtTheCursorExactly(t *testing.T) {
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 256, MaxMessage: 128, MaxReaders: 2})
	ctx := context.Background()
	p := mustProducer(t, r)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Oldest})
	msg, buf := make([]byte, 24), make([]byte, 128)
	send := func(seq uint64) {
		t.Helper()
		binary.LittleEndian.PutUint64(msg, seq)
		if err := p.Send(ctx, msg); err != nil {
			t.Fatalf("Send %d: %v", seq, err)
		}
	}
	send(0)
	if n, err := rd.TryRecv(buf); err != nil || binary.LittleEndian.Uint64(buf[:n]) != 0 {
		t.Fatalf("TryRecv = %d, %v; want message 0", n, err)
	}
	for seq := uint64(1); seq < 4; seq++ {
		send(seq)
	}
	// Message 4's publish, in flight: RecTail at the cursor, RecSeq 5.
	r.recTailWord().Store(r.bcastWords().cursor.Load())
	r.recSeqWord().Add(1)

	received, missed, next := uint64(1), uint64(0), uint64(1)
	check := func(n int, err error) {
		t.Helper()
		var lap *LapError
		switch {
		case errors.As(err, &lap):
			missed += lap.Missed
			next += lap.Missed
		case errors.Is(err, ErrEmpty):
		case err != nil:
			t.Fatalf("TryRecv = %v", err)
		default:
			if got := binary.LittleEndian.Uint64(buf[:n]); got != next {
				t.Fatalf("TryRecv delivered message %d, want %d (after %d missed)", got, next, missed)
			}
			received++
			next++
		}
	}
	check(rd.TryRecv(buf))
	send(4) // the publish completes
	for range 3 {
		check(rd.TryRecv(buf))
	}
	if received+missed != 5 || next != 5 {
		t.Errorf("received %d + missed %d = %d, next %d; want the 5 published, each once", received, missed, received+missed, next)
	}
	if st := rd.Stats(); st.Missed != missed || st.Lapped != 1 {
		t.Errorf("Stats Missed %d Lapped %d, want the %d the one LapError said", st.Missed, st.Lapped, missed)
	}
}
