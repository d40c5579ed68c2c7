package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/shmring/shmring/ring"
)

// fakeBatch and lappedOnce stand in for a lossless broadcast reader that
// joined at ring.Oldest on a busy ring: its first ReceiveBatch finds it
// lapped while it catches up, the next one leases a message.
type fakeBatch [][]byte

func (b fakeBatch) Len() int                 { return len(b) }
func (b fakeBatch) At(i int) ([]byte, error) { return b[i], nil }

type lappedOnce struct {
	lapped, released bool
	lapErr           error // what the lap is reported as
}

func (l *lappedOnce) ReceiveBatch(context.Context, int) (fakeBatch, error) {
	if !l.lapped {
		l.lapped = true
		return nil, l.lapErr
	}
	return fakeBatch{[]byte("after the gap")}, nil
}

func (l *lappedOnce) Release() error { l.released = true; return nil }
func (l *lappedOnce) Close() error   { return nil }

// TestALosslessReaderLappedWhileCatchingUpGoesOn: the lap a lossless
// reader may meet before it reaches what was published after it joined
// is counted as missed and the bridge reads on (a black-box tester: a
// JetStream Out restarted on a busy broadcast ring exited 1 on "reader
// lapped: missed 257 messages", 3 of 3 runs).
func TestALosslessReaderLappedWhileCatchingUpGoesOn(t *testing.T) {
	l := &lappedOnce{lapErr: &ring.LapError{Missed: 257}}
	src := &leaseSource[fakeBatch, *lappedOnce]{l: l, name: "test", end: &endMark{}, arena: newArena(64, 1024)}
	msgs, missed, err := src.next(context.Background(), 8)
	if err != nil || missed != 257 || len(msgs) != 1 || string(msgs[0]) != "after the gap" {
		t.Fatalf("next = %q, missed %d, %v; want the message after the gap, missed 257, nil", msgs, missed, err)
	}
	// A lossless reader overrun where its producer had to wait for it is
	// ErrCorrupt wrapping the lap (ring/errors.go): no lap to read on from.
	l = &lappedOnce{lapErr: fmt.Errorf("%w: %w", ring.ErrCorrupt, &ring.LapError{Missed: 5})}
	src = &leaseSource[fakeBatch, *lappedOnce]{l: l, name: "test", end: &endMark{}, arena: newArena(64, 1024)}
	if msgs, _, err := src.next(context.Background(), 8); !errors.Is(err, ring.ErrCorrupt) {
		t.Fatalf("next = %q, %v; want ErrCorrupt", msgs, err)
	}
}
