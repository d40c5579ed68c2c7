package ring_test

// The contract every ring kind keeps, written once and run over the table
// of contract_helpers_test.go (SPSC, MPMC, MPSC, Broadcast with a lossless
// and with a lossy reader) through the public API only: the data path
// allocates nothing and makes no system call while the ring is neither
// full nor empty, and a stream between two mappings arrives whole and in
// order. Close, wake-ups and bad input have files of their own
// (contract_close_test.go, contract_pingpong_test.go,
// contract_badinput_test.go). What only one kind does is tested beside its
// engine.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestContractHotPathAllocatesNothing: on a ring that is neither full nor
// empty, no data-path call allocates, on any kind.
func TestContractHotPathAllocatesNothing(t *testing.T) {
	if ring.RaceEnabled {
		t.Skip("the race detector allocates on its own account")
	}
	ctx := context.Background()
	msg := make([]byte, 48)
	msgs := [][]byte{msg, msg, msg, msg}
	buf := make([]byte, 64)
	// drain receives n messages in batches and releases each batch.
	drain := func(rd readEnd, n int) error {
		for got := 0; got < n; {
			k, err := receiveBatch(ctx, rd, n-got, nil)
			if err != nil {
				return err
			}
			if err := rd.Release(); err != nil {
				return err
			}
			got += k
		}
		return nil
	}
	cases := []struct {
		name string
		f    func(p *ring.Producer, rd readEnd) error
	}{
		{"Send and Recv allocate nothing", func(p *ring.Producer, rd readEnd) error {
			if err := p.Send(ctx, msg); err != nil {
				return err
			}
			_, err := rd.Recv(ctx, buf)
			return err
		}},
		{"TrySend and TryRecv allocate nothing", func(p *ring.Producer, rd readEnd) error {
			if err := p.TrySend(msg); err != nil {
				return err
			}
			_, err := rd.TryRecv(buf)
			return err
		}},
		{"Claim, Commit, Receive and Release allocate nothing", func(p *ring.Producer, rd readEnd) error {
			s, err := p.Claim(ctx)
			if err != nil {
				return err
			}
			if err := p.Commit(copy(s, msg)); err != nil {
				return err
			}
			if _, err := rd.Receive(ctx); err != nil {
				return err
			}
			return rd.Release()
		}},
		{"TryClaim, Commit, TryReceive and Release allocate nothing", func(p *ring.Producer, rd readEnd) error {
			s, err := p.TryClaim()
			if err != nil {
				return err
			}
			if err := p.Commit(copy(s, msg)); err != nil {
				return err
			}
			if _, err := rd.TryReceive(); err != nil {
				return err
			}
			return rd.Release()
		}},
		{"SendBatch, ReceiveBatch, At and Release allocate nothing", func(p *ring.Producer, rd readEnd) error {
			n, err := p.SendBatch(ctx, msgs)
			if err != nil {
				return err
			}
			return drain(rd, n)
		}},
		{"ClaimBatch, SetLen, CommitBatch, ReceiveBatch, At and Release allocate nothing", func(p *ring.Producer, rd readEnd) error {
			b, err := p.ClaimBatch(ctx, 4)
			if err != nil {
				return err
			}
			for i := range b.Len() {
				if err := b.SetLen(i, copy(b.Slot(i), msg)); err != nil {
					return err
				}
			}
			p.CommitBatch(b.Len())
			return drain(rd, b.Len())
		}},
	}
	forEachKind(t, func(t *testing.T, k contractKind) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p, rd := newContractRing(t, k, 64, 64).ends(t)
				for range 8 { // neither full nor empty throughout
					if err := p.TrySend(msg); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				allocs := testing.AllocsPerRun(1000, func() {
					if e := tc.f(p, rd); e != nil && err == nil {
						err = e
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if allocs != 0 {
					t.Errorf("%v allocations per run, want 0", allocs)
				}
			})
		}
	})
}

// streamStyles are the ways the no-wait stream fills and drains a ring,
// round by round.
var streamStyles = []string{"TrySend and TryRecv", "Send and Recv", "Claim, Commit, Receive and Release", "ClaimBatch, CommitBatch, ReceiveBatch and Release", "SendBatch, TryReceive and Release"}

// TestContractStreamingThatNeverWaitsMakesNoSystemCall fills the ring to
// exactly its capacity while the read end is idle, then drains exactly as
// many while the producer is idle, round after round through every call
// (and, on the kinds that have several, through two producers in turn), the
// read end on a second mapping as another process would hold it. Neither
// side ever finds the ring full or empty, so neither may enter its wait
// (Full and Empty stay zero: no spin, no yield, no sleep) nor wake the
// other (Wakes stays zero: no FUTEX_WAKE).
//
// How strong that is: the counters are the engine's own, kept on the only
// paths where its data path makes system calls (the wait loop's yields and
// futex sleeps, the publisher's FUTEX_WAKE). They prove those paths were
// not taken; they cannot see a system call added somewhere else on the data
// path, which no portable counter of this process would show either
// (Linux counts a thread's context switches, not its system calls).
func TestContractStreamingThatNeverWaitsMakesNoSystemCall(t *testing.T) {
	const slots, size = 256, 32
	rounds := 2 * len(streamStyles)
	if ring.RaceEnabled {
		rounds = len(streamStyles)
	}
	forEachKind(t, func(t *testing.T, k contractKind) {
		proctest.Watchdog(t, ring.HangBound)
		cr := newContractRing(t, k, size, slots)
		rd := cr.reopen(t).readEnd(t)
		ps := []*ring.Producer{cr.producer(t)}
		if k.manyProducers() {
			ps = append(ps, cr.producer(t))
		}
		ctx := context.Background()
		msg, buf := make([]byte, size), make([]byte, size)
		var sent, got uint64
		check := func(m []byte) error {
			if err := ring.CheckMessage(m, got, size); err != nil {
				return err
			}
			got++
			return nil
		}
		for round := range rounds {
			style := round % len(streamStyles)
			for i := 0; i < slots; i++ { // fill: exactly as many as there is room for
				p := ps[i%len(ps)]
				var err error
				switch style {
				case 0:
					ring.EncodeMessage(msg, sent)
					err = p.TrySend(msg)
				case 1:
					ring.EncodeMessage(msg, sent)
					err = p.Send(ctx, msg)
				case 2:
					var s []byte
					if s, err = p.Claim(ctx); err == nil {
						ring.EncodeMessage(s[:size], sent)
						err = p.Commit(size)
					}
				case 3:
					var b ring.Batch
					if b, err = p.ClaimBatch(ctx, min(7, slots-i)); err == nil {
						for j := range b.Len() {
							ring.EncodeMessage(b.Slot(j)[:size], sent+uint64(j))
							if err = b.SetLen(j, size); err != nil {
								break
							}
						}
						p.CommitBatch(b.Len())
						sent += uint64(b.Len() - 1)
						i += b.Len() - 1
					}
				case 4:
					batch := make([][]byte, min(5, slots-i))
					for j := range batch {
						batch[j] = make([]byte, size)
						ring.EncodeMessage(batch[j], sent+uint64(j))
					}
					var n int
					if n, err = p.SendBatch(ctx, batch); err == nil && n != len(batch) {
						err = fmt.Errorf("SendBatch sent %d of %d into free slots", n, len(batch))
					}
					sent += uint64(n - 1)
					i += n - 1
				}
				if err != nil {
					t.Fatalf("round %d (%s), message %d: %v", round, streamStyles[style], sent, err)
				}
				sent++
			}
			for i := 0; i < slots; i++ { // drain: exactly as many as were sent
				var err error
				switch style {
				case 0:
					var n int
					if n, err = rd.TryRecv(buf); err == nil {
						err = check(buf[:n])
					}
				case 1:
					var n int
					if n, err = rd.Recv(ctx, buf); err == nil {
						err = check(buf[:n])
					}
				case 2:
					var m []byte
					if m, err = rd.Receive(ctx); err == nil {
						if err = check(m); err == nil {
							err = rd.Release()
						}
					}
				case 3:
					var n int
					if n, err = receiveBatch(ctx, rd, min(5, slots-i), check); err == nil {
						err = rd.Release()
						i += n - 1
					}
				case 4:
					var m []byte
					if m, err = rd.TryReceive(); err == nil {
						if err = check(m); err == nil {
							err = rd.Release()
						}
					}
				}
				if err != nil {
					t.Fatalf("round %d (%s), message %d: %v", round, streamStyles[style], got, err)
				}
			}
		}
		if want := uint64(rounds * slots); sent != want || got != want {
			t.Fatalf("sent %d and received %d, want %d each", sent, got, want)
		}
		var published uint64
		for i, p := range ps {
			s := p.Stats()
			published += s.Messages
			if s.Full != 0 || s.Sleeps != 0 || s.Wakes != 0 {
				t.Errorf("producer %d: Full=%d Sleeps=%d Wakes=%d, want 0, 0 and 0 (it waited or woke on a stream that never waits)", i, s.Full, s.Sleeps, s.Wakes)
			}
		}
		if s := rd.Stats(); s.Empty != 0 || s.Sleeps != 0 || s.Wakes != 0 || s.Messages != got {
			t.Errorf("read end: Empty=%d Sleeps=%d Wakes=%d Messages=%d, want 0, 0, 0 and %d", s.Empty, s.Sleeps, s.Wakes, s.Messages, got)
		}
		if published != sent {
			t.Errorf("the producers' Stats count %d messages, want %d", published, sent)
		}
	})
}

// TestContractAStreamBetweenTwoMappingsArrivesWholeAndInOrder: a producer
// goroutine on one mapping streams messages of varied length while the read
// end, on a second mapping, receives them with the default wait: every
// message arrives byte for byte, in order, then ErrClosed. A lossy reader
// may be lapped; it is told how many it missed, and delivered plus missed
// is every message.
func TestContractAStreamBetweenTwoMappingsArrivesWholeAndInOrder(t *testing.T) {
	const size = 64
	n := uint64(20_000)
	if ring.RaceEnabled {
		n /= 10
	}
	forEachKind(t, func(t *testing.T, k contractKind) {
		proctest.Watchdog(t, ring.HangBound)
		cr := newContractRing(t, k, size, 16)
		rd := cr.reopen(t).readEnd(t)
		p := cr.producer(t)
		ctx := context.Background()
		length := func(seq uint64) int { return ring.MsgHeaderSize + int(seq*7919%(size-ring.MsgHeaderSize+1)) }
		done := make(chan error, 1)
		go func() {
			msg := make([]byte, size)
			for seq := range n {
				m := msg[:length(seq)]
				ring.EncodeMessage(m, seq)
				if err := p.Send(ctx, m); err != nil {
					done <- fmt.Errorf("Send of message %d: %w", seq, err)
					return
				}
			}
			done <- p.Close()
		}()
		buf := make([]byte, size)
		var next, delivered, missed uint64
		for {
			got, err := rd.Recv(ctx, buf)
			var lap *ring.LapError
			switch {
			case err == nil:
				if err := ring.CheckMessage(buf[:got], next, length(next)); err != nil {
					t.Fatal(err)
				}
				next++
				delivered++
				continue
			case k.lossy() && errors.As(err, &lap):
				next += lap.Missed
				missed += lap.Missed
				continue
			case !errors.Is(err, ring.ErrClosed):
				t.Fatalf("Recv at message %d: %v", next, err)
			}
			break
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if next != n || delivered+missed != n || (!k.lossy() && missed != 0) {
			t.Errorf("ErrClosed after message %d, with %d delivered and %d missed; want it after %d", next, delivered, missed, n)
		}
	})
}

// TestContractABatchTakesWhatIsPublishedWhenItIsMade: ReceiveBatch leases
// every message published before it was called, up to max, whatever the
// handle had learnt of the producer before. A record ring's batch used to
// stop at the producer cursor its handle had cached from an earlier call,
// one message short of a slot ring's. (From a black-box tester.)
func TestContractABatchTakesWhatIsPublishedWhenItIsMade(t *testing.T) {
	ctx := context.Background()
	forEachKind(t, func(t *testing.T, k contractKind) {
		p, rd := newContractRing(t, k, 64, 4).ends(t)
		buf := make([]byte, 64)
		for _, m := range []string{"a", "b"} {
			if err := p.TrySend([]byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := rd.TryRecv(buf); err != nil || string(buf[:n]) != "a" {
			t.Fatalf("TryRecv = %q, %v; want a", buf[:n], err)
		}
		if err := p.TrySend([]byte("c")); err != nil {
			t.Fatal(err)
		}
		var got []string
		if _, err := receiveBatch(ctx, rd, 8, func(m []byte) error { got = append(got, string(m)); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := rd.Release(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != "b,c" {
			t.Fatalf("ReceiveBatch(8) after b and c were published = %q, want both", got)
		}
	})
}
