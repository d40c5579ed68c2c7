//go:build linux

package ringstat

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/shmring/shmring/ring"
)

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
			tl, err := OpenTail(path, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer tl.Close()
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
	tl, err := OpenTail(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
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
			tl, err := OpenTail(path, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer tl.Close()
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
