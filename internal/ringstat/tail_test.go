//go:build linux

package ringstat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shmring/shmring/ring"
)

// openTail opens a Tail on path, back messages before the newest, closed
// when the test ends.
func openTail(t *testing.T, path string, back uint64) *Tail {
	t.Helper()
	tl, err := OpenTail(path, back)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tl.Close() })
	return tl
}

// collect polls t once and returns the messages and gaps it handed out.
func collect(t *testing.T, tl *Tail) (msgs []string, gaps []Event, err error) {
	t.Helper()
	err = tl.Poll(func(e Event) error {
		if e.Gap {
			gaps = append(gaps, e)
		} else {
			msgs = append(msgs, fmt.Sprintf("%d:%s", e.Pos, e.Data))
		}
		return nil
	})
	return msgs, gaps, err
}

func send(t *testing.T, p interface {
	Send(context.Context, []byte) error
}, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := p.Send(context.Background(), fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTailShowsEveryKindsMessagesWithoutARole(t *testing.T) {
	for _, o := range []ring.Options{
		{Kind: ring.SPSC, SlotSize: 32, Slots: 16},
		{Kind: ring.MPMC, SlotSize: 32, Slots: 16},
		{Kind: ring.MPSC, SlotSize: 32, Slots: 16},
		{Kind: ring.Broadcast, SlotSize: 32, Slots: 16},
		{Kind: ring.SPSC, Records: true, Capacity: 512}, // positions are sequence numbers
		{Kind: ring.Broadcast, Records: true, Capacity: 512},
	} {
		name := o.Kind.String()
		if o.Records {
			name += "-records"
		}
		t.Run(name, func(t *testing.T) {
			r, path := newRing(t, o)
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			send(t, p, 0, 5)
			tl := openTail(t, path, 3)
			msgs, gaps, err := collect(t, tl)
			if err != nil || len(gaps) != 0 || fmt.Sprint(msgs) != "[2:m2 3:m3 4:m4]" {
				t.Fatalf("the last 3: messages %v gaps %v err %v, want [2:m2 3:m3 4:m4] and nothing else", msgs, gaps, err)
			}
			send(t, p, 5, 7)
			msgs, gaps, err = collect(t, tl)
			if err != nil || len(gaps) != 0 || fmt.Sprint(msgs) != "[5:m5 6:m6]" {
				t.Fatalf("new ones: messages %v gaps %v err %v, want [5:m5 6:m6]", msgs, gaps, err)
			}
			p.Close()
			if _, _, err = collect(t, tl); err != ErrEnded {
				t.Fatalf("after the producer closed: %v, want ErrEnded", err)
			}
		})
	}
}

// TestTailOfAFileShrunkUnderItSaysTruncated: a peer that truncates the file
// while the tail has it mapped makes the next read fault; Poll turns the
// fault into an error instead of the process dying of SIGBUS.
func TestTailOfAFileShrunkUnderItSaysTruncated(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 32, Slots: 4096})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	send(t, p, 0, 3)
	tl := openTail(t, path, 3)
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	if _, _, err := collect(t, tl); !IsTruncated(err) {
		t.Fatalf("Poll after the file shrank to 4096 bytes: %v, want a truncation error", err)
	}
	if s, err := Read(path); err != nil || s.State != Truncated {
		t.Fatalf("Read of the shrunk file: %v %s, want truncated", err, s.State)
	}
}

// TestTailOfAFileShrunkThenClosedSaysTruncated: a producer whose file was
// cut under it closes, as a producer does on ErrTruncated, and its Close
// still marks the stream ended (the header's page survives the cut). Poll
// says the file was shrunk, not that the stream ended: it said ErrEnded,
// and ringctl tail exited 0 with nothing on stderr. (From a black-box
// tester.)
func TestTailOfAFileShrunkThenClosedSaysTruncated(t *testing.T) {
	for _, o := range []ring.Options{
		{Kind: ring.SPSC, SlotSize: 64, Slots: 16},
		{Kind: ring.SPSC, Records: true, Capacity: 1024},
		{Kind: ring.Broadcast, SlotSize: 64, Slots: 16},
		{Kind: ring.Broadcast, Records: true, Capacity: 1024},
	} {
		// (An MPMC producer's Close meets the cut in its entry, past the
		// first page, and ends no stream: nothing to tell apart there.)
		// Small rings: the cut at 4096 bytes leaves the slots and takes
		// the counter blocks, so the Send after it faults on its counters
		// and the Close that follows finishes.
		t.Run(fmt.Sprintf("%v records=%v", o.Kind, o.Records), func(t *testing.T) {
			r, path := newRing(t, o)
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			send(t, p, 0, 3)
			tl := openTail(t, path, 3)
			if msgs, _, err := collect(t, tl); err != nil || len(msgs) != 3 {
				t.Fatalf("Poll before the cut: %q, %v; want three messages", msgs, err)
			}
			if err := os.Truncate(path, 4096); err != nil {
				t.Fatal(err)
			}
			// The producer finds the cut, then closes: its Close, knowing
			// the file shrank, marks the stream ended in the header's page.
			if err := p.Send(context.Background(), []byte("after the cut")); !errors.Is(err, ring.ErrTruncated) {
				t.Fatalf("Send after the cut = %v, want ring.ErrTruncated", err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if _, _, err := collect(t, tl); !IsTruncated(err) {
				t.Fatalf("Poll after the file shrank to 4096 bytes and its producer closed: %v, want a truncation error", err)
			}
		})
	}
}

// TestOpenTailOfABrokenFileSaysWhatPollWould: a file truncated or corrupt
// by the time OpenTail opens it is refused with the error class Poll uses
// (IsTruncated, IsCorrupt), so ringctl exits 3 for it as for a cut under a
// running tail. It was a plain error, and ringctl exit 1. (From a
// black-box tester: a file changing size while tail opened it.)
func TestOpenTailOfABrokenFileSaysWhatPollWould(t *testing.T) {
	_, path := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 32, Slots: 64})
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTail(path, 0); !IsTruncated(err) {
		t.Errorf("OpenTail of a truncated file: %v, want a truncation error", err)
	}
	_, path = newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 32, Slots: 64})
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte{0xFF}, 20) // inside the header's checksummed fields
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTail(path, 0); !IsCorrupt(err) {
		t.Errorf("OpenTail of a file with a broken header: %v, want a corruption error", err)
	}
}

// TestTailOfARecordRingCountsWhatItLostInMessages: a record ring's tail
// that falls behind the floor (RecTail, or the consumer's cursor) moves to
// it and counts the messages it lost by their sequence numbers, so that
// messages and gaps account for every message exactly once.
func TestTailOfARecordRingCountsWhatItLostInMessages(t *testing.T) {
	for _, kind := range []ring.Kind{ring.SPSC, ring.Broadcast} {
		t.Run(kind.String(), func(t *testing.T) {
			r, path := newRing(t, ring.Options{Kind: kind, Records: true, Capacity: 256, MaxMessage: 64})
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			var c *ring.Consumer
			if kind == ring.SPSC {
				if c, err = r.Consumer(); err != nil {
					t.Fatal(err)
				}
			}
			send(t, p, 0, 2)
			tl := openTail(t, path, 2)
			buf := make([]byte, 64)
			for i := 2; i < 40; i++ { // a ring holds 8 of these records: the tail falls behind
				if c != nil {
					if _, err := c.Recv(context.Background(), buf); err != nil {
						t.Fatal(err)
					}
				}
				send(t, p, i, i+1)
			}
			next, shown := uint64(0), 0
			err = tl.Poll(func(e Event) error {
				if e.Pos != next {
					t.Fatalf("event at %d, want %d: messages and gaps must account for every message once", e.Pos, next)
				}
				if e.Gap {
					if want := map[ring.Kind]string{ring.SPSC: "consumed", ring.Broadcast: "overwritten"}[kind]; e.Why != want {
						t.Errorf("gap of %d from %d: %q, want %q", e.Count, e.Pos, e.Why, want)
					}
					next += e.Count
					return nil
				}
				if string(e.Data) != fmt.Sprintf("m%d", e.Pos) {
					t.Fatalf("message %d = %q", e.Pos, e.Data)
				}
				next++
				shown++
				return nil
			})
			if err != nil || next != 40 || shown == 0 || shown == 40 {
				t.Fatalf("Poll: %v; accounted up to %d with %d shown, want up to 40 with some lost and some shown", err, next, shown)
			}
		})
	}
}

// TestTailOfALiveRecordRingAccountsForEveryMessage: a producer (and, on
// SPSC, a consumer that keeps up) stream while the tail polls, opened at
// the cursor or 8 messages back while the stream runs: every event
// continues the one before, gaps included, every message shown is whole,
// no correct interleaving is taken for a corrupt ring (a floor loaded
// after a cursor may be past it), and at the end every message is
// accounted for.
func TestTailOfALiveRecordRingAccountsForEveryMessage(t *testing.T) {
	for _, tc := range []struct {
		kind ring.Kind
		back uint64
	}{{ring.SPSC, 0}, {ring.SPSC, 8}, {ring.Broadcast, 0}, {ring.Broadcast, 8}} {
		kind := tc.kind
		t.Run(fmt.Sprintf("%v/n=%d", kind, tc.back), func(t *testing.T) {
			r, path := newRing(t, ring.Options{Kind: kind, Records: true, Capacity: 1024, MaxMessage: 64})
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			var c *ring.Consumer
			if kind == ring.SPSC {
				if c, err = r.Consumer(); err != nil {
					t.Fatal(err)
				}
			}
			const total = 200000
			done, running := make(chan error, 1), make(chan struct{})
			// Halfway the producer waits, after a send and before its
			// consumer takes the message (an SPSC tail shows only what the
			// consumer has not released), for the tail to have shown a
			// message: on a loaded machine a tail that only ever found
			// itself lapped showed none, and the test had nothing to check.
			shownOne := make(chan struct{})
			closeShown := sync.OnceFunc(func() { close(shownOne) })
			go func() {
				buf := make([]byte, 64)
				for i := range total {
					if i == 1000 {
						close(running)
					}
					if err := p.Send(context.Background(), fmt.Appendf(nil, "m%d-%s", i, strings.Repeat("x", i%30))); err != nil {
						done <- err
						return
					}
					if i == total/2 {
						select {
						case <-shownOne:
						case <-time.After(time.Minute): // a hang bound: then the test fails, shown 0
						}
					}
					if c != nil {
						if _, err := c.Recv(context.Background(), buf); err != nil {
							done <- err
							return
						}
					}
				}
				done <- p.Close()
			}()
			select {
			case <-running:
			case err := <-done:
				t.Fatalf("the producer stopped early: %v", err)
			}
			tl := openTail(t, path, tc.back)
			next, started, shown := uint64(0), false, 0
			for ended := false; !ended; {
				err := tl.Poll(func(e Event) error {
					if started && e.Pos != next {
						return fmt.Errorf("event at %d after one that ended at %d (%+v)", e.Pos, next, e)
					}
					started, next = true, e.Pos+max(e.Count, 1)
					if !e.Gap {
						if shown++; shown == 1 {
							closeShown()
						}
						if want := fmt.Sprintf("m%d-%s", e.Pos, strings.Repeat("x", int(e.Pos%30))); string(e.Data) != want {
							return fmt.Errorf("message %d = %q, want %q", e.Pos, e.Data, want)
						}
					}
					return nil
				})
				switch {
				case err == ErrEnded:
					ended = true
				case err != nil:
					t.Fatalf("Poll after %d messages shown: %v", shown, err)
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if next != total || shown == 0 {
				t.Fatalf("accounted up to message %d with %d shown, want up to %d", next, shown, total)
			}
		})
	}
}

// TestTailOfARecordRingGoesBackPastItsPollBudget: -n counts back from the
// newest record even when the ring holds more records than one Poll looks
// at.
func TestTailOfARecordRingGoesBackPastItsPollBudget(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1 << 21, MaxMessage: 64})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	const n = pollBudget + pollBudget/2
	for range n {
		if err := p.Send(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	tl := openTail(t, path, 1)
	if tl.Pos() != n-1 {
		t.Fatalf("-n 1 starts at message %d, want %d", tl.Pos(), n-1)
	}
}

// TestTailOfABroadcastRecordRingEndsAtAReset: Reset puts the cursor and
// RecSeq back to 0; the tail says so (ErrReset) instead of reading the new
// stream from its old position, and a new tail follows the new stream.
func TestTailOfABroadcastRecordRingEndsAtAReset(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.Broadcast, Records: true, Capacity: 1024, MaxMessage: 64})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	send(t, p, 0, 10)
	tl := openTail(t, path, 0)
	p.Close()
	if err := r.Reset(); err != nil {
		t.Fatal(err)
	}
	if p, err = r.Producer(); err != nil {
		t.Fatal(err)
	}
	send(t, p, 0, 5) // short of where the old tail stood (10 records in)
	if msgs, gaps, err := collect(t, tl); !errors.Is(err, ErrReset) || len(msgs)+len(gaps) != 0 {
		t.Fatalf("after the reset: messages %v gaps %v err %v, want ErrReset and nothing shown", msgs, gaps, err)
	}
	tl2 := openTail(t, path, 2)
	if msgs, gaps, err := collect(t, tl2); err != nil || len(gaps) != 0 || fmt.Sprint(msgs) != "[3:m3 4:m4]" {
		t.Fatalf("a new tail: messages %v gaps %v err %v, want [3:m3 4:m4]", msgs, gaps, err)
	}
}

// TestTailOfAnSPSCRecordRingCountsWhatAConsumerThatKeepsUpTook: a consumer
// that takes every message before the tail looks leaves no record to name
// the next sequence number, yet each Poll reports what it took, and the
// end of the stream what is left, as a slot ring's tail does.
func TestTailOfAnSPSCRecordRingCountsWhatAConsumerThatKeepsUpTook(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1024, MaxMessage: 64})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	tl := openTail(t, path, 0)
	buf := make([]byte, 64)
	recv := func(n int) {
		for range n {
			if _, err := c.Recv(context.Background(), buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(t, p, 0, 5)
	recv(5)
	msgs, gaps, err := collect(t, tl)
	if err != nil || len(msgs) != 0 || len(gaps) != 1 || gaps[0].Pos != 0 || gaps[0].Count != 5 || gaps[0].Why != "consumed" {
		t.Fatalf("after 5 sent and consumed: messages %v gaps %+v err %v, want one gap of 5 from 0, consumed", msgs, gaps, err)
	}
	send(t, p, 5, 7)
	recv(2)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	msgs, gaps, err = collect(t, tl)
	if err != ErrEnded || len(msgs) != 0 || len(gaps) != 1 || gaps[0].Pos != 5 || gaps[0].Count != 2 || gaps[0].Why != "consumed" {
		t.Fatalf("after 2 more and the end: messages %v gaps %+v err %v, want one gap of 2 from 5, consumed, and the end", msgs, gaps, err)
	}
}

// TestTailOfAnSPSCRecordRingCountsAStreamItNeverSaw: a tail that saw no
// message at all still accounts for the whole stream when it ends.
func TestTailOfAnSPSCRecordRingCountsAStreamItNeverSaw(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1024, MaxMessage: 64})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	tl := openTail(t, path, 0)
	send(t, p, 0, 3)
	buf := make([]byte, 64)
	for range 3 {
		if _, err := c.Recv(context.Background(), buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	msgs, gaps, err := collect(t, tl)
	if err != ErrEnded || len(msgs) != 0 || len(gaps) != 1 || gaps[0].Pos != 0 || gaps[0].Count != 3 {
		t.Fatalf("messages %v gaps %+v err %v, want one gap of 3 from 0 and the end", msgs, gaps, err)
	}
}
