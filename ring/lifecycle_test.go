//go:build linux

package ring

// Handles used wrongly or late: batch views kept past their commit or
// release, a second writer of a handle's cursor, the unguarded calls. None
// of it may crash, hang, or write into a live slot. (Close during a blocked
// call and Release after Close are in the contract suite,
// contract_close_test.go, for every kind.)

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

// fillUntilFull sends until the ring is full.
func fillUntilFull(t *testing.T, p *Producer) {
	t.Helper()
	msg := make([]byte, 8)
	for {
		err := p.TrySend(msg)
		if errors.Is(err, ErrFull) {
			return
		}
		if err != nil {
			t.Fatalf("TrySend while filling: %v", err)
		}
	}
}

func TestStaleBatchViewsReachNoLiveSlot(t *testing.T) {
	for _, kind := range []Kind{SPSC, MPMC, Broadcast} {
		t.Run(kind.String(), func(t *testing.T) {
			proctest.Watchdog(t, hangBound)
			o := Options{Kind: kind, SlotSize: 16, Slots: 8}
			r := newTestRing(t, o)
			p := mustProducer(t, r)
			var recvBatch func() (at func(int) ([]byte, error), release func() error)
			switch kind {
			case Broadcast:
				rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
				recvBatch = func() (func(int) ([]byte, error), func() error) {
					b, err := rd.ReceiveBatch(context.Background(), 1)
					if err != nil {
						t.Fatal(err)
					}
					return b.At, rd.Release
				}
			default:
				c := mustConsumer(t, r)
				recvBatch = func() (func(int) ([]byte, error), func() error) {
					m, err := c.ReceiveBatch(context.Background(), 1)
					if err != nil {
						t.Fatal(err)
					}
					return m.At, c.Release
				}
			}
			b, err := p.ClaimBatch(context.Background(), 2)
			if err != nil {
				t.Fatal(err)
			}
			copy(b.Slot(0), "first")
			if err := b.SetLen(0, 5); err != nil {
				t.Fatal(err)
			}
			p.CommitBatch(1)
			if s := b.Slot(0); s != nil {
				t.Fatalf("Slot of a committed batch = %d bytes of shared memory, want nil", len(s))
			}
			if err := b.SetLen(1, 3); !errors.Is(err, ErrStale) {
				t.Fatalf("SetLen of a committed batch = %v, want ErrStale", err)
			}
			// The next batch claims the slot the stale view pointed past:
			// the stale view must not reach it.
			b2, err := p.ClaimBatch(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if s := b.Slot(1); s != nil {
				t.Fatal("a stale batch still reaches a slot claimed by a newer batch")
			}
			copy(b2.Slot(0), "second")
			b2.SetLen(0, 6)
			p.CommitBatch(1)

			at, release := recvBatch()
			if m, err := at(0); err != nil || string(m) != "first" {
				t.Fatalf("At(0) = %q, %v, want \"first\"", m, err)
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
			if m, err := at(0); !errors.Is(err, ErrStale) {
				t.Fatalf("At of a released batch = %q, %v, want ErrStale", m, err)
			}
			at2, _ := recvBatch()
			if m, err := at2(0); err != nil || string(m) != "second" {
				t.Fatalf("the next batch's At(0) = %q, %v, want \"second\"", m, err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if m, err := at2(0); !errors.Is(err, ErrStale) {
				t.Fatalf("At after the ring's Close = %q, %v, want ErrStale", m, err)
			}
			if s := b2.Slot(0); s != nil {
				t.Fatal("Slot after the ring's Close reaches memory")
			}
		})
	}
}

// A second writer of a handle's own cursor (two goroutines on one handle, or
// a stray process) is caught the next time the handle refills its cache of
// the other side's cursor, before it can lap the other side.
func TestASecondWriterOfAHandlesCursorIsCaught(t *testing.T) {
	for _, side := range []string{"producer", "consumer"} {
		t.Run(side, func(t *testing.T) {
			const slots = 8
			r := newTestRing(t, Options{Kind: SPSC, SlotSize: 16, Slots: slots})
			p, c := mustProducer(t, r), mustConsumer(t, r)
			msg, buf := []byte("m"), make([]byte, 16)
			if err := p.TrySend(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := c.TryRecv(buf); err != nil {
				t.Fatal(err)
			}
			// Each side first runs out of what its cache knows (full,
			// empty), so that its next call refills it; then another
			// writer moves its cursor.
			var err error
			if side == "producer" {
				fillUntilFull(t, p)
				r.word64(layout.ProducerCursorOffset).Add(3)
				err = p.TrySend(msg)
			} else {
				if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
					t.Fatalf("TryRecv of an empty ring = %v", err)
				}
				r.word64(layout.ConsumerCursorOffset).Add(2)
				_, err = c.TryRecv(buf)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "second writer") {
				t.Fatalf("after another writer moved the %s cursor: %v, want ErrCorrupt naming a second writer", side, err)
			}
		})
	}
}

// Options.Unguarded takes the fault guard off the per-message calls; the
// ring must behave the same otherwise.
func TestUnguardedRingsCarryEveryMessage(t *testing.T) {
	for _, kind := range []Kind{SPSC, MPMC, Broadcast} {
		t.Run(kind.String(), func(t *testing.T) {
			proctest.Watchdog(t, hangBound)
			const size, n = 48, 20000
			r := newTestRing(t, Options{Kind: kind, SlotSize: size, Slots: 64, Unguarded: true})
			p := mustProducer(t, r)
			var recv func(context.Context, []byte) (int, error)
			if kind == Broadcast {
				recv = mustReader(t, r, ReaderOptions{Policy: Lossless}).Recv
			} else {
				recv = mustConsumer(t, r).Recv
			}
			ctx := context.Background()
			done := make(chan error, 1)
			go func() {
				msg := make([]byte, size)
				for seq := range uint64(n) {
					encodeMessage(msg, seq)
					if err := p.Send(ctx, msg); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			buf := make([]byte, size)
			for seq := range uint64(n) {
				k, err := recv(ctx, buf)
				if err != nil {
					t.Fatalf("Recv %d: %v", seq, err)
				}
				if err := checkMessage(buf[:k], seq, size); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := p.TrySend(buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("TrySend after Close = %v, want ErrClosed", err)
			}
		})
	}
}
