package ring

// Handles used wrongly or late: Ring.Close while another goroutine is
// blocked in a call, batch views kept past their commit or release, and
// Release after Close. None of it may crash, hang, or write into a live
// slot.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

// blockingCall sets up r so that one call blocks, and returns that call
// and a non-blocking call on the same handle for after the close.
type blockingCall func(t *testing.T, r *Ring, peer func(role string)) (block, after func() error)

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

func blockedReceive(t *testing.T, r *Ring, peer func(string)) (func() error, func() error) {
	peer("producer")
	c := mustConsumer(t, r)
	return func() error { _, err := c.Receive(context.Background()); return err },
		func() error { _, err := c.TryReceive(); return err }
}

func blockedClaim(t *testing.T, r *Ring, peer func(string)) (func() error, func() error) {
	peer("consumer")
	p := mustProducer(t, r)
	fillUntilFull(t, p)
	return func() error { _, err := p.Claim(context.Background()); return err },
		func() error { return p.TrySend([]byte("late")) }
}

func blockedReaderReceive(t *testing.T, r *Ring, peer func(string)) (func() error, func() error) {
	peer("producer")
	rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
	return func() error { _, err := rd.Receive(context.Background()); return err },
		func() error { _, err := rd.TryReceive(); return err }
}

func blockedGatedSend(t *testing.T, r *Ring, peer func(string)) (func() error, func() error) {
	peer("lossless reader")
	p := mustProducer(t, r)
	fillUntilFull(t, p)
	return func() error { return p.Send(context.Background(), []byte("gated")) },
		func() error { return p.TrySend([]byte("late")) }
}

func TestCloseDuringABlockedCallReturnsErrClosed(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		call blockingCall
	}{
		{"spsc Receive on an empty ring", Options{Kind: SPSC, SlotSize: 64, Slots: 8}, blockedReceive},
		{"spsc Claim on a full ring", Options{Kind: SPSC, SlotSize: 64, Slots: 8}, blockedClaim},
		{"mpmc Receive on an empty ring", Options{Kind: MPMC, SlotSize: 64, Slots: 8}, blockedReceive},
		{"mpmc Claim on a full ring", Options{Kind: MPMC, SlotSize: 64, Slots: 8}, blockedClaim},
		{"broadcast Receive on an empty ring", Options{Kind: Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2}, blockedReaderReceive},
		{"broadcast Send gated by a lossless reader", Options{Kind: Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2}, blockedGatedSend},
	}
	for _, tc := range cases {
		for _, backing := range []string{"heap", "file"} {
			t.Run(backing+"/"+tc.name, func(t *testing.T) {
				proctest.Watchdog(t, hangBound)
				var r *Ring
				var peer func(role string)
				if backing == "heap" {
					var err error
					if r, err = newHeapRing(uniqueName(t), tc.o); err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					peer = func(role string) { heapPeer(t, r, role) }
				} else {
					r = newTestRing(t, tc.o)
					peer = func(role string) { filePeer(t, r, role) }
				}
				block, after := tc.call(t, r, peer)
				done := make(chan error, 1)
				go func() { done <- block() }()
				for r.waiters.Load() == 0 {
					select {
					case err := <-done:
						t.Fatalf("the call returned %v before the close, want it blocked", err)
					case <-time.After(time.Millisecond):
					}
				}
				if err := r.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if err := <-done; !errors.Is(err, ErrClosed) {
					t.Fatalf("the blocked call returned %v, want ErrClosed", err)
				}
				if err := after(); !errors.Is(err, ErrClosed) {
					t.Fatalf("a call on the handle after the ring's Close returned %v, want ErrClosed", err)
				}
			})
		}
	}
}

// heapPeer takes role on the heap ring itself: heap rings live in one
// process.
func heapPeer(t *testing.T, r *Ring, role string) {
	t.Helper()
	switch role {
	case "producer":
		mustProducer(t, r)
	case "consumer":
		mustConsumer(t, r)
	case "lossless reader":
		mustReader(t, r, ReaderOptions{Policy: Lossless})
	}
}

// filePeer holds role in another process (take-role), or, for a reader,
// through a second mapping of the file that the ring's Close does not touch.
func filePeer(t *testing.T, r *Ring, role string) {
	t.Helper()
	if role == "lossless reader" {
		r2, err := Open(r.Name())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r2.Close() })
		mustReader(t, r2, ReaderOptions{Policy: Lossless})
		return
	}
	c := proctest.Start(t, "take-role", r.Name(), role)
	c.Expect("held")
	t.Cleanup(func() { c.WriteLine("release"); c.Wait() })
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

func TestReleaseAfterCloseIsHarmless(t *testing.T) {
	for _, kind := range []Kind{SPSC, MPMC, Broadcast} {
		for _, closer := range []string{"handle", "ring"} {
			t.Run(kind.String()+"/"+closer, func(t *testing.T) {
				proctest.Watchdog(t, hangBound)
				r := newTestRing(t, Options{Kind: kind, SlotSize: 16, Slots: 8})
				p := mustProducer(t, r)
				if err := p.Send(context.Background(), []byte("m")); err != nil {
					t.Fatal(err)
				}
				var release, closeHandle func() error
				if kind == Broadcast {
					rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Oldest})
					if _, err := rd.Receive(context.Background()); err != nil {
						t.Fatal(err)
					}
					release, closeHandle = rd.Release, rd.Close
				} else {
					c := mustConsumer(t, r)
					if _, err := c.Receive(context.Background()); err != nil {
						t.Fatal(err)
					}
					release, closeHandle = c.Release, c.Close
				}
				if closer == "handle" {
					closeHandle()
				} else {
					r.Close()
				}
				for i := range 2 { // as a deferred Release would, after an explicit one
					if err := release(); !errors.Is(err, ErrClosed) {
						t.Fatalf("Release %d after Close = %v, want ErrClosed", i+1, err)
					}
				}
			})
		}
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
