package natsbridge

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// tapSource tells the test each time the bridge has taken a batch out of
// its ring.
type tapSource struct {
	source
	took chan int
}

func (s *tapSource) next(ctx context.Context, limit int) ([][]byte, uint64, error) {
	msgs, missed, err := s.source.next(ctx, limit)
	if err == nil && len(msgs) > 0 {
		s.took <- len(msgs)
	}
	return msgs, missed, err
}

// TestOutStopsOnATruncatedRing: a peer shrinks the ring file to its
// header and control words (slotsCut) while an Out bridge holds a batch it took from the ring and has
// not published yet (the server is down, so it waits for it). Once the
// server is back, the bridge stops with an error that is ring.ErrTruncated
// (not a SIGBUS in nats.go's copy of the batch, nor a hang), and what it
// published arrived whole and in order: the messages before the outage
// all, and of the held batch at most what it took before the truncation.
func TestOutStopsOnATruncatedRing(t *testing.T) {
	const before, during = 100, 50
	cases := []struct {
		name string
		o    ring.Options
		ro   ring.ReaderOptions
	}{
		{"an SPSC consumer", ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 256}, ring.ReaderOptions{}},
		{"an MPMC consumer", ring.Options{Kind: ring.MPMC, SlotSize: 64, Slots: 256}, ring.ReaderOptions{}},
		{"a lossless broadcast reader", ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 256}, ring.ReaderOptions{Policy: ring.Lossless}},
		{"a lossy broadcast reader", ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 256}, ring.ReaderOptions{Policy: ring.Lossy}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := natstest.Start(t, natstest.Config{})
			src := newRing(t, tc.o)

			got := make(chan *nats.Msg, 2*(before+during))
			sub := connect(t, srv.URL())
			if _, err := sub.ChanSubscribe("trunc", got); err != nil {
				t.Fatal(err)
			}
			if err := sub.Flush(); err != nil {
				t.Fatal(err)
			}
			down := make(chan struct{}, 1)
			nc := connect(t, srv.URL(), nats.DisconnectErrHandler(func(*nats.Conn, error) {
				select {
				case down <- struct{}{}:
				default:
				}
			}))
			// No idle flush: one in flight when the server stops would hold
			// the bridge in flush, not with a batch taken from the ring.
			// nats.go's own flusher still sends what is published.
			out, err := NewOut(nc, src, OutOptions{Subject: "trunc", Reader: tc.ro, IdleFlush: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			took := make(chan int, 2*(before+during)) // never blocks the bridge
			out.src = &tapSource{source: out.src, took: took}
			run := start(out.Run)

			p, err := src.Producer()
			if err != nil {
				t.Fatal(err)
			}
			send(t, p, 0, before)
			for want := uint64(0); want < before; want++ {
				expectMsg(t, got, want)
			}
			srv.Stop()
			waitFor(t, down, "the bridge's connection to see the server gone")
			for len(took) > 0 { // batches of the first messages
				<-took
			}
			send(t, p, before, during)
			waitFor(t, took, "the bridge to take a batch while the server is down")

			if err := os.Truncate(src.Path(), slotsCut(src)); err != nil {
				t.Fatal(err)
			}
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			err = run.wait()
			if !errors.Is(err, ring.ErrTruncated) || !strings.Contains(err.Error(), "truncated") {
				t.Fatalf("Run returned %v, want ring.ErrTruncated", err)
			}
			// The subscriber may have been reconnected after the bridge
			// published, so the held batch may be missing: what came must be
			// whole, in order, and nothing the ring did not give the bridge.
			if err := sub.Flush(); err != nil {
				t.Fatal(err)
			}
			for next := uint64(before); len(got) > 0; {
				seq, err := msgcheck.Check((<-got).Data)
				if err != nil {
					t.Fatalf("after the truncation: %v", err)
				}
				if seq < next || seq >= before+during {
					t.Fatalf("after the truncation: message %d, want one of %d..%d in order", seq, next, before+during-1)
				}
				next = seq + 1
			}
		})
	}
}

// slotsCut is a size to shrink r's file to that keeps its header and
// control words whole and takes its slots away but for the first page of
// them: every ring still reads its own words as they were (a file cut
// inside them would be reported as corrupt words, by some rings before
// the truncation), and a message past that page faults.
func slotsCut(r *ring.Ring) int64 {
	page := uint64(os.Getpagesize())
	return int64((r.Header().SlotsOffset + page) &^ (page - 1))
}

// send sends messages first..first+n-1 of 64 bytes through p.
func send(t *testing.T, p *ring.Producer, first, n uint64) {
	t.Helper()
	msg := make([]byte, 64)
	for seq := first; seq < first+n; seq++ {
		msgcheck.Stamp(msg, seq)
		if err := p.Send(context.Background(), msg); err != nil {
			t.Fatalf("send %d: %v", seq, err)
		}
	}
}

// expectMsg waits for the next message on got and fails unless it is
// message want, undamaged.
func expectMsg(t *testing.T, got <-chan *nats.Msg, want uint64) {
	t.Helper()
	select {
	case m := <-got:
		seq, err := msgcheck.Check(m.Data)
		if err != nil || seq != want {
			t.Fatalf("got message %d (%v), want %d", seq, err, want)
		}
	case <-time.After(watchdog):
		t.Fatalf("watchdog: message %d never came", want)
	}
}

func waitFor[T any](t *testing.T, c <-chan T, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(watchdog):
		t.Fatalf("watchdog: waiting for %s", what)
	}
}

// TestCopiesOfALeaseAreCheckedAfterATruncation: the file is shrunk after a
// batch was leased (the ring checked it was whole) and before the bridge
// copies it. Cut before the held slots, the copy faults; cut at the end
// mark, reading the mark faults; cut and grown back to its size, the slots
// and the mark read zero without a fault, and the mark says so. Each is
// ring.ErrTruncated.
func TestCopiesOfALeaseAreCheckedAfterATruncation(t *testing.T) {
	cases := []struct {
		name   string
		cut    func(*ring.Ring) int64
		regrow bool
		want   string
	}{
		{"cut before the held slots", slotsCut, false, "fault reading the ring file"},
		{"cut at the end mark", func(r *ring.Ring) int64 { return int64(r.Header().EndOffset) }, false, "fault reading the ring file"},
		{"cut and grown back", slotsCut, true, "the end mark is gone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 256})
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			send(t, p, 0, 200)
			c, err := r.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			end, err := mapEndMark(r)
			if err != nil {
				t.Fatal(err)
			}
			defer end.close()
			leased, err := c.ReceiveBatch(context.Background(), 200)
			if err != nil || leased.Len() != 200 {
				t.Fatalf("ReceiveBatch: %d messages, %v", leased.Len(), err)
			}
			if err := os.Truncate(r.Path(), tc.cut(r)); err != nil {
				t.Fatal(err)
			}
			if tc.regrow {
				if err := os.Truncate(r.Path(), int64(r.Header().FileSize)); err != nil {
					t.Fatal(err)
				}
			}
			a := newArena(r.SlotSize(), ackedArena)
			err = copyLeased(&a, leased, end, r.Name())
			if !errors.Is(err, ring.ErrTruncated) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("copy: %v, want ring.ErrTruncated saying %q", err, tc.want)
			}
		})
	}
}
