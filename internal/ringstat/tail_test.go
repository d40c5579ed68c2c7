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
	for _, kind := range []ring.Kind{ring.SPSC, ring.MPMC, ring.MPSC, ring.Broadcast} {
		t.Run(kind.String(), func(t *testing.T) {
			r, path := newRing(t, ring.Options{Kind: kind, SlotSize: 32, Slots: 16})
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
