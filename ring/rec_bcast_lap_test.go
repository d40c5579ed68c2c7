//go:build linux

package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/shmring/shmring/layout"
)

// TestRecordLossAtTheCursorIsCountedWhenNoRecordFollows: a lossy reader
// overrun while the producer's Claim of the longest message had retired
// every record (RecTail at the cursor), the claim then aborted and the
// stream closed: no record follows to count the loss by, so it is counted
// from RecSeq at the end of the stream, before ErrClosed. (From a
// reviewer: the loss went unreported.)
func TestRecordLossAtTheCursorIsCountedWhenNoRecordFollows(t *testing.T) {
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 256, MaxMessage: 128, MaxReaders: 2})
	ctx := context.Background()
	p := mustProducer(t, r)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Oldest})
	msg, buf := make([]byte, 100), make([]byte, 128)
	published := uint64(0)
	send := func() {
		t.Helper()
		binary.LittleEndian.PutUint64(msg, published)
		if err := p.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		published++
	}
	send()
	if _, err := rd.TryRecv(buf); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		send()
	}
	// A zero-copy claim (max size) retires RecTail up to the cursor, then is dropped.
	if _, err := p.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	tl, c := r.recTailWord().Load(), r.bcastWords().cursor.Load()
	t.Logf("after Claim: RecTail=%d cursor=%d", tl, c)
	p.Abort()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	received, missed := uint64(1), uint64(0)
	for range 10 {
		_, err := rd.TryRecv(buf)
		var lap *LapError
		switch {
		case errors.As(err, &lap):
			missed += lap.Missed
			continue
		case err == nil:
			received++
			continue
		}
		t.Logf("TryRecv: %v", err)
		break
	}
	st := rd.Stats()
	if received+missed != published || st.Missed != missed {
		t.Errorf("published %d, received %d + missed %d; Stats Missed %d Lapped %d", published, received, missed, st.Missed, st.Lapped)
	}
}

// TestRecordLosslessJoinerLappedAtTheCursorGetsALapError: a lossless
// joiner (Oldest) that delivered one message below what the producer
// protects is overrun with RecTail at the cursor. Its hole is a *LapError
// with the exact count, as for any joiner's hole below protect, not
// ErrCorrupt (which a lap counted at the cursor, past protect, said). (From
// a reviewer.)
func TestRecordLosslessJoinerLappedAtTheCursorGetsALapError(t *testing.T) {
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 256, MaxMessage: 128, MaxReaders: 2})
	ctx := context.Background()
	p := mustProducer(t, r)
	msg, buf := make([]byte, 24), make([]byte, 128)
	for i := range 4 {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		if err := p.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Oldest})
	if n, err := rd.TryRecv(buf); err != nil || binary.LittleEndian.Uint64(buf[:n]) != 0 {
		t.Fatalf("TryRecv = %d, %v; want message 0", n, err)
	}
	// A producer whose limit predates the join retires up to the cursor.
	r.recTailWord().Store(r.bcastWords().cursor.Load())
	if _, err := rd.TryRecv(buf); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryRecv at the cursor = %v, want ErrEmpty (the loss is counted by the next record)", err)
	}
	binary.LittleEndian.PutUint64(msg, 4)
	if err := p.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	var lap *LapError
	if _, err := rd.TryRecv(buf); !errors.As(err, &lap) || lap.Missed != 3 || errors.Is(err, ErrCorrupt) {
		t.Fatalf("TryRecv after message 4 = %v, want a *LapError missing messages 1 to 3", err)
	}
	if n, err := rd.TryRecv(buf); err != nil || binary.LittleEndian.Uint64(buf[:n]) != 4 {
		t.Fatalf("TryRecv = %d, %v; want message 4", n, err)
	}
	if st := rd.Stats(); st.Missed != 3 || st.Lapped != 1 || st.Messages != 2 {
		t.Errorf("Stats Missed %d Lapped %d Messages %d, want 3, 1, 2", st.Missed, st.Lapped, st.Messages)
	}
}

// TestRecordReleaseOfALeaseOverwrittenUpToTheCursorIsALap: a lossy lease
// the producer overwrote must make Release return a *LapError (the bytes
// read may be torn), also when the producer's next claim has retired every
// record (RecTail at the cursor): the leased message is counted at once,
// the rest when the claimed one is published, each message once. Release
// said nil there. (From a reviewer.)
func TestRecordReleaseOfALeaseOverwrittenUpToTheCursorIsALap(t *testing.T) {
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 256, MaxMessage: 128, MaxReaders: 2})
	ctx := context.Background()
	p := mustProducer(t, r)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Oldest})
	msg, buf := make([]byte, 100), make([]byte, 128)
	send := func(seq uint64) {
		t.Helper()
		binary.LittleEndian.PutUint64(msg, seq)
		if err := p.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	send(0)
	if _, err := rd.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	send(1) // overwrite the leased record
	send(2)
	slot, err := p.Claim(ctx) // message 3's claim: RecTail at the cursor
	if err != nil {
		t.Fatal(err)
	}
	if tl, c := r.recTailWord().Load(), r.bcastWords().cursor.Load(); tl != c {
		t.Fatalf("after the claim RecTail=%d cursor=%d: the setup no longer reaches its state", tl, c)
	}
	var lap *LapError
	if err := rd.Release(); !errors.As(err, &lap) || lap.Missed != 1 {
		t.Fatalf("Release of the overwritten lease of message 0 = %v, want a *LapError missing 1", err)
	}
	binary.LittleEndian.PutUint64(slot, 3)
	if err := p.Commit(8); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.TryRecv(buf); !errors.As(err, &lap) || lap.Missed != 2 {
		t.Fatalf("TryRecv after message 3 = %v, want a *LapError missing messages 1 and 2", err)
	}
	if n, err := rd.TryRecv(buf); err != nil || binary.LittleEndian.Uint64(buf[:n]) != 3 {
		t.Fatalf("TryRecv = %d, %v; want message 3", n, err)
	}
	if st := rd.Stats(); st.Missed != 3 || st.Lapped != 2 || st.Messages != 1 {
		t.Errorf("Stats Missed %d Lapped %d Messages %d, want 3, 2, 1", st.Missed, st.Lapped, st.Messages)
	}
}

// TestRecordLossAtTheCursorIsCountedWhenTheProducerDies: a lossy reader
// overrun while the producer held a claim of the longest message (RecTail
// at the cursor), the producer then dying with it: the loss is counted from
// RecSeq before ErrPeerDead, for a polling and a blocking reader.
func TestRecordLossAtTheCursorIsCountedWhenTheProducerDies(t *testing.T) {
	for _, block := range []bool{false, true} {
		t.Run(map[bool]string{false: "polling", true: "blocking"}[block], func(t *testing.T) {
			r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 256, MaxMessage: 128, MaxReaders: 2})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p := mustProducer(t, r)
			rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Oldest})
			msg, buf := make([]byte, 100), make([]byte, 128)
			for i := range 5 {
				if err := p.Send(ctx, msg); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					if _, err := rd.TryRecv(buf); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := p.Claim(ctx); err != nil { // RecTail at the cursor
				t.Fatal(err)
			}
			if _, err := rd.TryRecv(buf); !errors.Is(err, ErrEmpty) {
				t.Fatalf("TryRecv at the cursor = %v, want ErrEmpty", err)
			}
			bp := p.e.(*recBcastProducer)
			if err := bp.lock.unlock(r); err != nil { // the producer dies: its lock goes
				t.Fatal(err)
			}
			var err error
			missed := uint64(0)
			for range 1000 {
				if block {
					_, err = rd.Recv(ctx, buf)
				} else {
					_, err = rd.TryRecv(buf)
				}
				var lap *LapError
				if errors.As(err, &lap) {
					missed += lap.Missed
				} else if !errors.Is(err, ErrEmpty) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if !errors.Is(err, ErrPeerDead) || missed != 4 {
				t.Fatalf("last call %v after %d missed; want the 4 messages missed, then ErrPeerDead", err, missed)
			}
			if st := rd.Stats(); st.Missed != 4 || st.Lapped != 1 {
				t.Errorf("Stats Missed %d Lapped %d, want 4, 1", st.Missed, st.Lapped)
			}
		})
	}
}

// TestRecordLosslessJoinerIsNeverToldItLappedOverUnwrittenRecords: a
// lossless reader joins at Oldest on a ring the producer has filled, and
// the producer keeps it full as far as the gate lets it. Once a scan has
// seen the reader, nothing it has not read is written over, so it must
// receive every message from where it joined, with no *LapError. The
// producer used to move RecTail an eighth of a ring past what each write
// needed, past the reader's own cursor, and the joiner (which checks
// RecTail while below what the producer protects) skipped records that
// were never overwritten. (From a reviewer.)
func TestRecordLosslessJoinerIsNeverToldItLappedOverUnwrittenRecords(t *testing.T) {
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 1024, MaxMessage: 512, MaxReaders: 2})
	p := mustProducer(t, r)
	msg, buf := make([]byte, 16), make([]byte, 512)
	sent := uint64(0)
	send := func() {
		t.Helper()
		binary.LittleEndian.PutUint64(msg, sent)
		switch err := p.TrySend(msg); {
		case err == nil:
			sent++
		case !errors.Is(err, ErrFull):
			t.Fatal(err)
		}
	}
	// No reader yet: the producer runs free, laps and all, up to where its
	// cached limit runs out, so that its next send scans the reader table
	// and sees the reader that joins now (a joiner no scan has seen yet
	// may be lapped: LAYOUT.md 14.7).
	pe := p.e.(*recBcastProducer)
	for sent < 100 || pe.head+layout.RecordSize(uint32(len(msg))) <= pe.limit {
		send()
	}
	rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Oldest})
	var want uint64
	for i := range 300 {
		n, err := rd.TryRecv(buf)
		if err != nil {
			t.Fatalf("message %d after joining (next expected #%d, %d sent): %v", i, want, sent, err)
		}
		got := binary.LittleEndian.Uint64(buf[:n])
		if i == 0 {
			want = got
		}
		if got != want {
			t.Fatalf("message %d after joining: got #%d, want #%d", i, got, want)
		}
		want++
		send() // two for each one read: the producer stays at the gate
		send()
	}
}

// TestALossyRecordReaderRefusesARecordTailMovedBack: RecTail only grows,
// and a lossy reader resynchronises to it only once it saw it past its
// own position. A writer that is no producer stored back an earlier
// record boundary at that moment: the reader moved back to it and handed
// out again, err nil, messages it had delivered (a black-box tester:
// "delivered message 239532 after message 239533"). It is ErrCorrupt, and
// the reader stays where it stood.
func TestALossyRecordReaderRefusesARecordTailMovedBack(t *testing.T) {
	r := newTestRing(t, Options{Kind: Broadcast, Records: true, Capacity: 4096, MaxMessage: 128, MaxReaders: 2})
	ctx := context.Background()
	p := mustProducer(t, r)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Oldest})
	msg, buf := make([]byte, 40), make([]byte, 128)
	for seq := range uint64(4) {
		binary.LittleEndian.PutUint64(msg, seq)
		if err := p.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := rd.TryRecv(buf); err != nil {
			t.Fatal(err)
		}
	}
	at := rd.q
	rd.rec.tailW.Store(0) // the first record's boundary, behind the reader
	if err := rd.recOverrun(false); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a resync to a RecTail moved back below the reader = %v, want ErrCorrupt", err)
	}
	if rd.q != at {
		t.Errorf("the reader moved from %d to %d, back to a record it delivered", at, rd.q)
	}
}
