//go:build linux

package ring

// The broadcast API's semantics in one process, on heap rings (which the
// race detector sees) and file rings: what only broadcast does (many
// readers, policies, starts, laps, the gate). What every kind shares is in
// the contract suite (contract_test.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

func TestBroadcastEveryReaderGetsEveryMessageThenErrClosed(t *testing.T) {
	forEachBacking(t, func(t *testing.T, heap bool) {
		r := newBcastRing(t, heap, 64, 16, 4)
		ctx := context.Background()
		var rds []*Reader
		modes := []string{"recv", "receive", "batch", "tryrecv"}
		for i := range modes {
			pol := Lossy
			if i%2 == 1 {
				pol = Lossless
			}
			rds = append(rds, mustReader(t, r, ReaderOptions{Policy: pol}))
		}
		p := mustProducer(t, r)
		if err := bcastSend(ctx, p, 0, 12, make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		for i, rd := range rds {
			if got := rd.Lag(); got != 12 {
				t.Errorf("reader %d: Lag()=%d before reading, want 12", i, got)
			}
			c := newBcastChecker(rd, 0, 64, i%2 == 1)
			if err := c.run(ctx, modes[i], 12); err != nil {
				t.Fatalf("reader %d (%s): %v", i, modes[i], err)
			}
			if _, err := rd.TryReceive(); !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
				t.Errorf("reader %d: TryReceive after the end = %v, want ErrClosed", i, err)
			}
			st := rd.Stats()
			if st.Messages != 12 || st.Lapped != 0 || st.Missed != 0 || st.Sleeps != 0 {
				t.Errorf("reader %d: Stats %+v, want 12 messages, no laps, no sleeps", i, st)
			}
			if got := rd.Lag(); got != 0 {
				t.Errorf("reader %d: Lag()=%d after reading all, want 0", i, got)
			}
		}
		if st := p.Stats(); st.Messages != 12 || st.Wakes != 0 || st.Sleeps != 0 {
			t.Errorf("producer Stats %+v, want 12 messages and no futex calls", st)
		}
	})
}

func TestBroadcastRolesAndOptions(t *testing.T) {
	spsc, err := newHeapRing(uniqueName(t), Options{Kind: SPSC, SlotSize: 64, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer spsc.Close()
	if _, err := spsc.Reader(ReaderOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Reader on an SPSC ring = %v, want ErrInvalid", err)
	}
	r := newBcastRing(t, true, 64, 4, 2)
	if _, err := r.Consumer(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Consumer on a broadcast ring = %v, want ErrInvalid", err)
	}
	for _, o := range []ReaderOptions{{Policy: 3}, {Policy: -1}, {Start: 2}} {
		if _, err := r.Reader(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("Reader(%+v) = %v, want ErrInvalid", o, err)
		}
	}
	p := mustProducer(t, r)
	if _, err := r.Producer(); !errors.Is(err, ErrBusy) {
		t.Errorf("a second Producer = %v, want ErrBusy", err)
	}
	a := mustReader(t, r, ReaderOptions{})
	b := mustReader(t, r, ReaderOptions{Policy: Lossless})
	if _, err := r.Reader(ReaderOptions{}); !errors.Is(err, ErrBusy) {
		t.Errorf("a reader beyond MaxReaders = %v, want ErrBusy", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("a second Close = %v, want nil", err)
	}
	if _, err := a.TryRecv(make([]byte, 64)); !errors.Is(err, ErrClosed) {
		t.Errorf("TryRecv on a closed reader = %v, want ErrClosed", err)
	}
	c := mustReader(t, r, ReaderOptions{Start: Latest}) // rejoins a's entry
	ctx := context.Background()
	if err := bcastSend(ctx, p, 0, 3, make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	for _, rd := range []*Reader{b, c} {
		if err := newBcastChecker(rd, 0, 64, true).step(ctx, "recv"); err != nil {
			t.Error(err)
		}
	}
	if err := r.Close(); err != nil { // closes p, b and c
		t.Fatal(err)
	}
	if _, err := b.Recv(ctx, make([]byte, 64)); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Ring.Close = %v, want ErrClosed", err)
	}
	if err := p.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Ring.Close = %v, want ErrClosed", err)
	}
}

func TestBroadcastStartOldestAndLatest(t *testing.T) {
	r := newBcastRing(t, true, 64, 8, 4)
	p := mustProducer(t, r)
	ctx := context.Background()
	buf := make([]byte, 64)
	if err := bcastSend(ctx, p, 0, 5, buf); err != nil {
		t.Fatal(err)
	}
	oldest := mustReader(t, r, ReaderOptions{Start: Oldest})
	latest := mustReader(t, r, ReaderOptions{Start: Latest})
	if err := bcastSend(ctx, p, 5, 10, buf); err != nil { // 15 published; 7..14 retained
		t.Fatal(err)
	}
	lateOldest := mustReader(t, r, ReaderOptions{Start: Oldest, Policy: Lossless})
	p.Close()
	// oldest joined at 0 and was lapped over 0..6 (the producer is not
	// gated by lossy readers).
	c := newBcastChecker(oldest, 0, 64, false)
	if err := c.run(ctx, "recv", 15); err != nil {
		t.Fatal(err)
	}
	if c.missed == 0 || c.delivered+c.missed != 15 {
		t.Errorf("oldest: delivered %d + missed %d, want 15 with a lap", c.delivered, c.missed)
	}
	if err := newBcastChecker(latest, 5, 64, false).run(ctx, "recv", 15); err != nil {
		t.Errorf("latest: %v", err)
	}
	if err := newBcastChecker(lateOldest, 7, 64, true).run(ctx, "receive", 15); err != nil {
		t.Errorf("oldest, joined late: %v", err)
	}
}

// TestBroadcastLossyLapAccounting: a lossy reader that does not read while
// the producer writes several laps gets ErrLapped with counts that, with
// what it receives, add up to what was published — through each call.
func TestBroadcastLossyLapAccounting(t *testing.T) {
	for _, mode := range []string{"recv", "receive", "batch", "tryrecv"} {
		t.Run(mode, func(t *testing.T) {
			r := newBcastRing(t, true, 64, 8, 2)
			p := mustProducer(t, r)
			rd := mustReader(t, r, ReaderOptions{Policy: Lossy, Start: Latest})
			ctx := context.Background()
			c := newBcastChecker(rd, 0, 64, false)
			buf := make([]byte, 64)
			var sent uint64
			for round := range 20 {
				n := uint64(round*3 + 1) // sometimes within a lap, sometimes many laps
				if err := bcastSend(ctx, p, sent, n, buf); err != nil {
					t.Fatal(err)
				}
				sent += n
				for range round%3 + 1 {
					if c.next < sent {
						if err := c.step(ctx, mode); err != nil {
							t.Fatalf("round %d: %v", round, err)
						}
					}
				}
			}
			p.Close()
			if err := c.run(ctx, mode, sent); err != nil {
				t.Fatal(err)
			}
			st := rd.Stats()
			if c.laps == 0 || st.Lapped != c.laps || st.Missed != c.missed || st.Messages != c.delivered {
				t.Errorf("Stats %+v; seen %d laps, %d missed, %d delivered", st, c.laps, c.missed, c.delivered)
			}
			if c.delivered+c.missed != sent {
				t.Errorf("delivered %d + missed %d = %d, want %d published", c.delivered, c.missed, c.delivered+c.missed, sent)
			}
		})
	}
}

// TestBroadcastReleaseReportsAnOverwrittenLease: a lossy reader holding a
// message in place while the producer laps it learns so from Release.
func TestBroadcastReleaseReportsAnOverwrittenLease(t *testing.T) {
	r := newBcastRing(t, true, 64, 4, 2)
	p := mustProducer(t, r)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossy})
	ctx := context.Background()
	buf := make([]byte, 64)
	if err := bcastSend(ctx, p, 0, 1, buf); err != nil {
		t.Fatal(err)
	}
	m, err := rd.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMessage(m, 0, bcastMsgLen(0, 64)); err != nil {
		t.Fatal(err)
	}
	if err := bcastSend(ctx, p, 1, 4, buf); err != nil { // position 4 overwrites 0
		t.Fatal(err)
	}
	err = rd.Release()
	var lap *LapError
	if !errors.Is(err, ErrLapped) || !errors.As(err, &lap) {
		t.Fatalf("Release of an overwritten lease = %v, want a *LapError", err)
	}
	// The producer has published 0..4; the oldest it is not about to
	// overwrite is 5-4+1 = 2.
	if lap.Missed != 2 {
		t.Errorf("Missed=%d, want 2 (positions 0 and 1)", lap.Missed)
	}
	c := newBcastChecker(rd, 2, 64, false)
	for range 3 {
		if err := c.step(ctx, "recv"); err != nil {
			t.Fatal(err)
		}
	}
	if st := rd.Stats(); st.Messages != 3 || st.Lapped != 1 || st.Missed != 2 {
		t.Errorf("Stats %+v, want 3 messages, 1 lap, 2 missed", st)
	}
}

// TestBroadcastLosslessReaderGatesTheProducer: with a lossless reader a
// whole ring behind, TrySend reports ErrFull and Send waits until the
// reader releases; lossy readers never hold the producer back.
func TestBroadcastLosslessReaderGatesTheProducer(t *testing.T) {
	forEachBacking(t, func(t *testing.T, heap bool) {
		proctest.Watchdog(t, hangBound)
		r := newBcastRing(t, heap, 64, 4, 4)
		p := mustProducer(t, r)
		lossy := mustReader(t, r, ReaderOptions{Policy: Lossy})
		rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
		ctx := context.Background()
		buf := make([]byte, 64)
		if err := bcastSend(ctx, p, 0, 4, buf); err != nil {
			t.Fatal(err)
		}
		m := buf[:bcastMsgLen(4, 64)]
		encodeMessage(m, 4)
		if err := p.TrySend(m); !errors.Is(err, ErrFull) {
			t.Fatalf("TrySend with a lossless reader a ring behind = %v, want ErrFull", err)
		}
		if _, err := p.TryClaim(); !errors.Is(err, ErrFull) {
			t.Fatalf("TryClaim with a lossless reader a ring behind = %v, want ErrFull", err)
		}
		done := make(chan error, 1)
		go func() { done <- p.Send(ctx, m) }()
		c := newBcastChecker(rd, 0, 64, true)
		if err := c.step(ctx, "receive"); err != nil { // frees position 0
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Send after the reader released = %v", err)
		}
		short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		defer cancel()
		if err := bcastSend(short, p, 5, 1, buf); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send with the lossless reader a ring behind again = %v, want DeadlineExceeded", err)
		}
		if err := rd.Close(); err != nil { // leaving stops the gating
			t.Fatal(err)
		}
		if err := bcastSend(ctx, p, 5, 10, buf); err != nil {
			t.Fatalf("Send after the lossless reader left = %v", err)
		}
		if _, err := lossy.TryRecv(buf); !errors.Is(err, ErrLapped) {
			t.Errorf("the lossy reader after 15 messages on 4 slots: %v, want ErrLapped", err)
		}
	})
}

// TestBroadcastLosslessJoinerStartsSilentlyAfterOverwrites: a lossless
// reader joining at Oldest while the producer still writes under a limit
// computed before it joined: the overwritten oldest messages move its start
// forward without ErrLapped, and from its start on it gets every message.
func TestBroadcastLosslessJoinerStartsSilentlyAfterOverwrites(t *testing.T) {
	for _, mode := range []string{"receive", "recv", "batch"} {
		t.Run(mode, func(t *testing.T) {
			r := newBcastRing(t, true, 64, 4, 2)
			p := mustProducer(t, r)
			ctx := context.Background()
			buf := make([]byte, 64)
			// 5 published: the producer scanned at head 4 (limit 8).
			if err := bcastSend(ctx, p, 0, 5, buf); err != nil {
				t.Fatal(err)
			}
			rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Oldest}) // at 1, protected from 5
			if err := bcastSend(ctx, p, 5, 3, buf); err != nil {                   // overwrites 1..3
				t.Fatal(err)
			}
			m := buf[:bcastMsgLen(8, 64)]
			encodeMessage(m, 8)
			if err := p.TrySend(m); !errors.Is(err, ErrFull) { // now the producer sees the reader
				t.Fatalf("TrySend after a lap with a lossless reader = %v, want ErrFull", err)
			}
			var first int
			var err error
			if mode == "recv" {
				first, err = rd.Recv(ctx, buf)
			} else {
				var msg []byte
				if mode == "receive" {
					msg, err = rd.Receive(ctx)
				} else {
					var b ReaderBatch
					b, err = rd.ReceiveBatch(ctx, 1)
					if err == nil {
						msg, err = b.At(0)
					}
				}
				if err == nil {
					first = copy(buf, msg)
					err = rd.Release()
				}
			}
			if err != nil {
				t.Fatalf("first delivery: %v", err)
			}
			seq := seqOf(buf[:first])
			if seq < 4 || seq > 5 {
				t.Fatalf("the joiner's first message is %d, want 4 or 5", seq)
			}
			c := newBcastChecker(rd, seq+1, 64, true)
			p.Close()
			if err := c.run(ctx, mode, 8); err != nil {
				t.Fatal(err)
			}
			if st := rd.Stats(); st.Lapped != 0 || st.Missed != 0 {
				t.Errorf("Stats %+v, want no lap for a joiner's silent start", st)
			}
		})
	}
}

// TestBroadcastBatchCalls: ClaimBatch/CommitBatch (partly committed) and
// SendBatch reach every reader as single messages and batches.
func TestBroadcastBatchCalls(t *testing.T) {
	forEachBacking(t, func(t *testing.T, heap bool) {
		r := newBcastRing(t, heap, 64, 16, 2)
		p := mustProducer(t, r)
		a := mustReader(t, r, ReaderOptions{Policy: Lossless})
		b := mustReader(t, r, ReaderOptions{Policy: Lossy})
		ctx := context.Background()
		bt, err := p.ClaimBatch(ctx, 6)
		if err != nil || bt.Len() != 6 {
			t.Fatalf("ClaimBatch(6) = %d slots, %v", bt.Len(), err)
		}
		for i := range bt.Len() {
			n := bcastMsgLen(uint64(i), 64)
			encodeMessage(bt.Slot(i)[:n], uint64(i))
			if err := bt.SetLen(i, n); err != nil {
				t.Fatal(err)
			}
		}
		p.CommitBatch(4) // 4 and 5 are dropped
		msgs := make([][]byte, 5)
		for i := range msgs {
			seq := uint64(4 + i)
			msgs[i] = make([]byte, bcastMsgLen(seq, 64))
			encodeMessage(msgs[i], seq)
		}
		if n, err := p.SendBatch(ctx, msgs); n != 5 || err != nil {
			t.Fatalf("SendBatch = %d, %v", n, err)
		}
		p.Close()
		if err := newBcastChecker(a, 0, 64, true).run(ctx, "batch", 9); err != nil {
			t.Error(err)
		}
		if err := newBcastChecker(b, 0, 64, false).run(ctx, "receive", 9); err != nil {
			t.Error(err)
		}
	})
}

// roomUnscanned is how many messages of size bytes a broadcast producer
// may still write under the limit of its last scan of the reader table.
func roomUnscanned(p *Producer, size int) uint64 {
	if e, ok := p.e.(*recBcastProducer); ok {
		return (e.limit - e.head) / layout.RecordSize(uint32(size))
	}
	e := p.e.(*bcastProducer)
	return e.limit - e.head
}

// TestBroadcastLosslessJoinerReportsAHoleAfterItsFirstMessage: a lossless
// reader joins at Oldest and receives one message; the producer, still
// writing under a limit from before the join, then overwrites messages
// the reader has not read. The reader may not skip them silently: the
// hole comes as a *LapError whose Missed is its exact size, so that what
// it delivered, with the misses counted, runs without a gap to the end.
func TestBroadcastLosslessJoinerReportsAHoleAfterItsFirstMessage(t *testing.T) {
	const size = 32
	for _, o := range []Options{
		{Kind: Broadcast, SlotSize: 64, Slots: 8},
		{Kind: Broadcast, Records: true, Capacity: 512, MaxMessage: 64},
	} {
		t.Run(fmt.Sprintf("records=%v", o.Records), func(t *testing.T) {
			r := newTestRing(t, o)
			p := mustProducer(t, r)
			m := make([]byte, size)
			sent := uint64(0)
			send := func() error {
				encodeMessage(m, sent)
				err := p.TrySend(m)
				if err == nil {
					sent++
				}
				return err
			}
			// No reader: the producer laps the ring freely, and stops with
			// room for a few more messages under the limit it scanned.
			for sent < 100 || roomUnscanned(p, size) < 3 {
				if err := send(); err != nil {
					t.Fatal(err)
				}
			}
			rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Oldest})
			buf := make([]byte, 64)
			n, err := rd.TryRecv(buf)
			if err != nil {
				t.Fatalf("the joiner's first TryRecv = %v", err)
			}
			next := seqOf(buf[:n]) + 1
			for range 100 { // under the limit it scanned before the join, then gated
				if err := send(); errors.Is(err, ErrFull) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			laps := 0
			for {
				n, err := rd.TryRecv(buf)
				var lap *LapError
				switch {
				case errors.Is(err, ErrEmpty):
				case errors.As(err, &lap):
					if errors.Is(err, ErrCorrupt) {
						t.Fatalf("a joiner's hole below what the producer protects = %v, want a plain *LapError", err)
					}
					laps++
					next += lap.Missed
					continue
				case err != nil:
					t.Fatalf("TryRecv = %v", err)
				default:
					if seq := seqOf(buf[:n]); seq != next {
						t.Fatalf("the joiner delivered message %d after %d: %d messages skipped silently", seq, next-1, seq-next)
					}
					if err := checkMessage(buf[:n], next, size); err != nil {
						t.Fatal(err)
					}
					next++
					continue
				}
				break
			}
			if laps == 0 {
				t.Fatalf("the producer overwrote nothing the joiner had not read: the test did not exercise the hole")
			}
			if next != sent {
				t.Fatalf("delivered and missed reach message %d, want %d (all sent)", next, sent)
			}
			if st := rd.Stats(); st.Lapped != uint64(laps) {
				t.Errorf("Stats.Lapped=%d, want %d", st.Lapped, laps)
			}
		})
	}
}

// TestPolicyZeroIsNamedLossy: Reader takes a zero Policy as Lossy, and
// String says so.
func TestPolicyZeroIsNamedLossy(t *testing.T) {
	for p, want := range map[Policy]string{0: "lossy", Lossy: "lossy", Lossless: "lossless", 7: "policy(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Policy(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}

// TestALosslessReaderJoiningAtLatestStartsAfterItsJoinAndIsNeverLapped: a
// producer publishes while a lossless reader joins at Latest (between the
// reader's first load of the cursor and its entry becoming visible to the
// producer's scans). The reader gets exactly the messages published after
// Reader returned, in order, with no *LapError. On a record ring it was
// told it lapped over records nobody had overwritten: the producer, which
// had not seen it yet, moved RecTail an eighth of a ring ahead of its
// writes, past the join's first cursor. (From a black-box tester.)
func TestALosslessReaderJoiningAtLatestStartsAfterItsJoinAndIsNeverLapped(t *testing.T) {
	requireStepHook(t)
	const size = 48 // a record of 64 bytes
	for _, o := range []Options{
		{Kind: Broadcast, SlotSize: 64, Slots: 64},
		{Kind: Broadcast, Records: true, Capacity: 4096, MaxMessage: 256},
	} {
		t.Run(fmt.Sprintf("records=%v", o.Records), func(t *testing.T) {
			r := newTestRing(t, o)
			p := mustProducer(t, r)
			m := make([]byte, size)
			sent := uint64(0)
			send := func(n int) {
				t.Helper()
				for range n {
					encodeMessage(m, sent)
					if err := p.TrySend(m); err != nil {
						t.Fatalf("send %d: %v", sent, err)
					}
					sent++
				}
			}
			send(200) // three laps: the producer retires as it writes
			armed := true
			setStepHook(func(s step) {
				if s == stepJoining && armed {
					armed = false
					send(60) // 15/16 of the ring: RecTail ran past P0, no record at P0 overwritten
				}
			})
			defer setStepHook(nil)
			rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Latest})
			first := sent
			buf := make([]byte, 256)
			for next := first; next < first+500; next++ {
				send(1)
				n, err := rd.TryRecv(buf)
				if err != nil {
					t.Fatalf("TryRecv for message %d (the first after the join is %d) = %v", next, first, err)
				}
				if err := checkMessage(buf[:n], next, size); err != nil {
					t.Fatalf("the reader that joined before message %d: %v", first, err)
				}
			}
		})
	}
}
