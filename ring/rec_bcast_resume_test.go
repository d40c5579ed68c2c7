//go:build linux

package ring

import (
	"context"
	"errors"
	"testing"
)

// A record producer stopped between its RecSeq and cursor stores (killed,
// or its Ring closed under the call) leaves a message numbered but never
// published. A lossy reader's LapError.Missed counts "messages published
// that this reader will never see": the numbers of that message must not
// be among them, whether the reader's loss is counted by the records of a
// producer that took over or, at the end of the stream, from RecSeq.

// newCutRecordRing is a broadcast record ring of 512 bytes, a lossy reader
// and a producer.
func newCutRecordRing(t *testing.T) (*Ring, *Reader, *Producer) {
	t.Helper()
	r := newHeapRecordRing(t, 512)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy})
	p := mustProducer(t, r)
	return r, rd, p
}

// newHeapRecordRing is a broadcast record ring of capacity bytes carrying
// up to half of it, on the heap.
func newHeapRecordRing(t *testing.T, capacity int) *Ring {
	t.Helper()
	r, err := newHeapRing(uniqueName(t), Options{Kind: Broadcast, Records: true, Capacity: capacity, MaxMessage: capacity / 2, MaxReaders: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// cutPublish writes a message of n bytes, numbers it and stores RecSeq, as
// a publish does, and stops short of the cursor store; then the handle is
// closed, as its Ring's Close or its process's death leaves it.
func cutPublish(t *testing.T, p *Producer, n uint32) {
	t.Helper()
	e := p.e.(*recBcastProducer)
	if _, err := e.ClaimN(context.Background(), n, true); err != nil {
		t.Fatal(err)
	}
	e.put(n)
	e.seqW.Store(e.seq)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// drainCounting reads rd until TryRecv says until (ErrEmpty: what is
// there; ErrClosed: the end of the stream): messages delivered and missed.
func drainCounting(t *testing.T, rd *Reader, until error) (got, missed uint64) {
	t.Helper()
	buf := make([]byte, 256)
	for {
		_, err := rd.TryRecv(buf)
		var lap *LapError
		switch {
		case err == nil:
			got++
		case errors.As(err, &lap):
			missed += lap.Missed
		case errors.Is(err, until):
			return got, missed
		default:
			t.Fatalf("TryRecv: %v", err)
		}
	}
}

// sendSized sends k messages of n bytes.
func sendSized(t *testing.T, p *Producer, k, n int) {
	t.Helper()
	for range k {
		if err := p.Send(context.Background(), make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// sendSmall sends k messages of 16 bytes: 32-byte records.
func sendSmall(t *testing.T, p *Producer, k int) { t.Helper(); sendSized(t, p, k, 16) }

func TestATakeoverNumbersOnFromACutPublish(t *testing.T) {
	r, rd, p := newCutRecordRing(t)
	sendSmall(t, p, 3)
	if got, missed := drainCounting(t, rd, ErrEmpty); got != 3 || missed != 0 {
		t.Fatalf("before the cut: got %d, missed %d; want 3, 0", got, missed)
	}
	cutPublish(t, p, 16)
	q := mustProducer(t, r)
	sendSmall(t, q, 100) // 3,200 bytes through a ring of 512: the reader is lapped
	q.Close()
	got, missed := drainCounting(t, rd, ErrClosed)
	if got+missed != 100 {
		t.Fatalf("after the takeover: got %d + missed %d = %d, want the 100 messages published", got, missed, got+missed)
	}
	if missed == 0 {
		t.Fatal("the reader was not lapped: the test proves nothing")
	}
}

func TestAStreamEndedByACutPublishCountsOnlyWhatWasPublished(t *testing.T) {
	_, rd, p := newCutRecordRing(t)
	e := p.e.(*recBcastProducer)
	published := 0
	for e.head < 1024 || e.head%512 != 288 {
		sendSmall(t, p, 1)
		published++
	}
	// A 240-byte message at offset 288 wraps and takes 512-288+240 bytes:
	// the producer retires everything up to its cursor before writing it,
	// so the lapped reader finds no record to count its loss by and waits
	// at the cursor for one; the stream ends instead.
	cutPublish(t, p, 240)
	if tail, cur := e.tailW.Load(), e.w.cursor.Load(); tail != cur {
		t.Fatalf("RecTail=%d, cursor=%d: the cut claim did not retire up to the cursor; the test proves nothing", tail, cur)
	}
	got, missed := drainCounting(t, rd, ErrClosed)
	if got+missed != uint64(published) {
		t.Fatalf("got %d + missed %d = %d, want the %d messages published", got, missed, got+missed, published)
	}
}

// What the last lap left at the cursor is numbered one by one too, up to
// the last published record: a producer that takes over from a clean
// Close must not take it for a cut publish and give its numbers again.
func TestATakeoverAfterACleanCloseNumbersOnFromRecSeq(t *testing.T) {
	r, _, p := newCutRecordRing(t)
	sendSmall(t, p, 100) // 32-byte records: a record starts at every lap's start
	p.Close()
	q := mustProducer(t, r)
	if seq := q.e.(*recBcastProducer).seq; seq != 100 {
		t.Fatalf("the next producer numbers its first message %d, want 100", seq)
	}
}

// Reset keeps the data area: the records of the stream before it stay
// where they were, numbered from zero as the new stream is. A run of them
// at the cursor that does not go on from the published stream is not a
// cut publish (a reviewer's find: the next producer gave a published
// number again, and a reader lapped across the takeover counted 99 of 100).
func TestATakeoverAfterResetIgnoresTheOldStreamsRecords(t *testing.T) {
	r, rd, p := newCutRecordRing(t)
	rd.Close()
	sendSized(t, p, 10, 32) // 48-byte records, numbered 0..9: number 2 at 96
	p.Close()
	if err := r.Reset(); err != nil {
		t.Fatal(err)
	}
	rd = mustReader(t, r, ReaderOptions{Policy: Lossy})
	p = mustProducer(t, r)
	sendSized(t, p, 3, 16) // 32-byte records, numbered 0..2: the cursor at 96, RecSeq 3
	p.Close()
	if got, missed := drainCounting(t, rd, ErrClosed); got != 3 || missed != 0 {
		t.Fatalf("before the takeover: got %d, missed %d; want 3, 0", got, missed)
	}
	q := mustProducer(t, r)
	if seq := q.e.(*recBcastProducer).seq; seq != 3 {
		t.Errorf("the next producer numbers its first message %d, want 3", seq)
	}
	sendSized(t, q, 100, 16)
	q.Close()
	if got, missed := drainCounting(t, rd, ErrClosed); got+missed != 100 {
		t.Errorf("after the takeover: got %d + missed %d = %d, want the 100 published", got, missed, got+missed)
	}
}

// A reader that joins after a cut publish and before the takeover counts
// from the number the next producer gives, not from RecSeq, which the cut
// left ahead.
func TestAReaderJoiningBeforeATakeoverCountsFromTheResumedNumber(t *testing.T) {
	r, _, p := newCutRecordRing(t)
	sendSmall(t, p, 3)
	cutPublish(t, p, 16)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Latest})
	q := mustProducer(t, r)
	sendSmall(t, q, 100)
	q.Close()
	if got, missed := drainCounting(t, rd, ErrClosed); got+missed != 100 {
		t.Errorf("got %d + missed %d = %d, want the 100 published", got, missed, got+missed)
	}
}

// After Reset, with nothing of the ring retained (a claim of nearly a ring
// moved RecTail up to the cursor, then was aborted), the run at the cursor
// cannot be checked against the published records: Reset zeroes the data
// area, so that a record of the stream before it is not there to be taken
// for a stopped producer's. (A tester's find: the next producer gave
// number 2 again, and a reader counted 102 of 103.)
func TestAResetLeavesNoRecordForTheResumeRule(t *testing.T) {
	r := newHeapRecordRing(t, 256)
	p := mustProducer(t, r)
	sendSized(t, p, 3, 48) // 64-byte records numbered 0..2: number 2 at 128
	p.Close()
	if err := r.Reset(); err != nil {
		t.Fatal(err)
	}
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Oldest})
	p = mustProducer(t, r)
	sendSized(t, p, 2, 16)
	sendSized(t, p, 1, 48) // the cursor at 128, RecSeq 3
	if _, err := p.ClaimN(context.Background(), 128); err != nil {
		t.Fatal(err)
	}
	e := p.e.(*recBcastProducer)
	if tail, cur := e.tailW.Load(), e.w.cursor.Load(); tail != cur || cur != 128 {
		t.Fatalf("RecTail=%d, cursor=%d, want both 128: the test proves nothing", tail, cur)
	}
	p.Abort()
	p.Close()
	q := mustProducer(t, r)
	if seq := q.e.(*recBcastProducer).seq; seq != 3 {
		t.Errorf("the next producer numbers its first message %d, want 3", seq)
	}
	sendSmall(t, q, 100)
	q.Close()
	if got, missed := drainCounting(t, rd, ErrClosed); got+missed != 103 {
		t.Errorf("got %d + missed %d = %d, want the 103 published", got, missed, got+missed)
	}
}
