package ring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/ringstat"
)

// TestMPMCCloseLeavingUndeliveredMessagesIsNoDeath: a consumer that closes
// while it holds a message it never handed out (a Recv refused for a short
// buffer) leaves its entry for another consumer to deliver that message. A
// producer waiting on the full ring meanwhile must go on waiting, as after
// any clean Close, not report ErrPeerDead ("every consumer died"); the next
// consumer gets every message, the undelivered one first, once.
func TestMPMCCloseLeavingUndeliveredMessagesIsNoDeath(t *testing.T) {
	for _, k := range mpmcKinds {
		t.Run(k.String(), func(t *testing.T) {
			r := newMPMCRing(t, k, true, 16, 4, Options{})
			p, c := mustProducer(t, r), mustConsumer(t, r)
			ctx := context.Background()
			for i := range 4 {
				if err := p.Send(ctx, fmt.Appendf(nil, "message %d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Recv(ctx, make([]byte, 2)); !errors.Is(err, io.ErrShortBuffer) {
				t.Fatalf("Recv into 2 bytes = %v, want io.ErrShortBuffer", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}

			snap, err := ringstat.ReadPath(r.Name(), r.Path())
			if err != nil {
				t.Fatal(err)
			}
			left := 0
			for _, ro := range snap.Roles {
				if ro.Role == "consumer" && ro.Left && !ro.Attached && !ro.Live {
					left++
				}
				if ro.Problem != "" {
					t.Errorf("ringstat: %s", ro.Problem)
				}
			}
			if left != 1 {
				t.Errorf("ringstat roles = %+v, want one consumer entry left (not attached, not live)", snap.Roles)
			}

			wait, cancel := context.WithTimeout(ctx, 50*time.Millisecond) // several wait ticks: the probe runs
			defer cancel()
			if err := p.Send(wait, []byte("message 4")); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send on the full ring after the only consumer closed = %v, want the context's deadline (no consumer died)", err)
			}

			c2 := mustConsumer(t, r)
			buf := make([]byte, 16)
			for i := range 4 {
				n, err := c2.Recv(ctx, buf)
				if want := fmt.Sprintf("message %d", i); err != nil || string(buf[:n]) != want {
					t.Fatalf("next consumer's Recv %d = %q, %v; want %q", i, buf[:n], err, want)
				}
				if got, want := c2.Redelivered(), i == 0; got != want {
					t.Errorf("Redelivered after Recv %d = %v, want %v (only the message the closed consumer left)", i, got, want)
				}
			}
			if err := p.Send(ctx, []byte("message 4")); err != nil {
				t.Fatal(err)
			}
			if n, err := c2.Recv(ctx, buf); err != nil || string(buf[:n]) != "message 4" {
				t.Fatalf("Recv = %q, %v; want \"message 4\"", buf[:n], err)
			}
			if _, err := c2.TryRecv(buf); !errors.Is(err, ErrEmpty) {
				t.Fatalf("TryRecv after every message = %v, want ErrEmpty (nothing delivered twice)", err)
			}
		})
	}
}

// TestMPMCAnotherConsumerDeliversWhatAClosedOneLeft: the messages a
// consumer left at its Close reach a consumer already attached elsewhere,
// by the reaping a waiting consumer does, marked Redelivered; and at the
// end of the stream, a consumer reaps a Left entry before it says
// ErrClosed.
func TestMPMCAnotherConsumerDeliversWhatAClosedOneLeft(t *testing.T) {
	r := newMPMCRing(t, MPMC, true, 16, 4, Options{MaxConsumers: 2})
	p, a, b := mustProducer(t, r), mustConsumer(t, r), mustConsumer(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 4 {
		if err := p.Send(ctx, fmt.Appendf(nil, "message %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Recv(ctx, make([]byte, 2)); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("a's Recv into 2 bytes = %v, want io.ErrShortBuffer", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	for _, want := range []string{"message 1", "message 2", "message 3", "message 0"} {
		n, err := b.Recv(ctx, buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("b's Recv = %q, %v; want %q", buf[:n], err, want)
		}
		if got := b.Redelivered(); got != (want == "message 0") {
			t.Errorf("%s: Redelivered %v", want, got)
		}
	}

	// The end of the stream with a Left entry: it is reaped first.
	c := mustConsumer(t, r) // a's entry is free again
	if err := p.Send(ctx, []byte("message 4")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Recv(ctx, make([]byte, 2)); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("b's Recv into 2 bytes = %v, want io.ErrShortBuffer", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Recv(ctx, buf); err != nil || string(buf[:n]) != "message 4" || !c.Redelivered() {
		t.Fatalf("c's Recv at the end of the stream = %q, %v (redelivered %v); want \"message 4\", marked", buf[:n], err, c.Redelivered())
	}
	if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("c's Recv after everything = %v, want ErrClosed", err)
	}
}

// TestMPMCEndOfStreamWaitsForALeftEntryItCannotLockYet: a consumer at the
// end of the stream that finds a Left entry still locked (its holder
// between storing Left and letting go, or another reaper at work) says
// ErrEmpty, not ErrClosed: the message in that entry is still to come.
func TestMPMCEndOfStreamWaitsForALeftEntryItCannotLockYet(t *testing.T) {
	r := newMPMCRing(t, MPMC, true, 16, 4, Options{MaxConsumers: 2})
	p, a := mustProducer(t, r), mustConsumer(t, r)
	ctx := context.Background()
	if err := p.Send(ctx, []byte("message 0")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Recv(ctx, make([]byte, 2)); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("Recv into 2 bytes = %v, want io.ErrShortBuffer", err)
	}
	entry := a.e.(*mpmcConsumer).index
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	held, err := r.lockAt(entryLockByte(entry)) // as the closing holder still would
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustConsumer(t, r)
	buf := make([]byte, 16)
	if _, err := b.TryRecv(buf); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryRecv with the Left entry locked = %v, want ErrEmpty (its message is still to come)", err)
	}
	if err := r.unlockAt(entryLockByte(entry), held); err != nil {
		t.Fatal(err)
	}
	if n, err := b.TryRecv(buf); err != nil || string(buf[:n]) != "message 0" {
		t.Fatalf("TryRecv once the entry is let go = %q, %v; want \"message 0\"", buf[:n], err)
	}
	if _, err := b.TryRecv(buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryRecv after it = %v, want ErrClosed", err)
	}
}

// TestMPMCAClosedConsumerDeliversNothingItLeft: the message a short buffer
// left with a consumer is another consumer's once it closes. The closed
// handle delivered it all the same (a Recv after Close gave it with nil,
// a Receive in place), and the next consumer then delivered it again: the
// one message reached two consumers, once through a closed handle.
func TestMPMCAClosedConsumerDeliversNothingItLeft(t *testing.T) {
	for _, k := range mpmcKinds {
		t.Run(k.String(), func(t *testing.T) {
			r := newMPMCRing(t, k, true, 16, 4, Options{})
			p, a := mustProducer(t, r), mustConsumer(t, r)
			if err := p.TrySend([]byte("only-message")); err != nil {
				t.Fatal(err)
			}
			if _, err := a.TryRecv(make([]byte, 3)); !errors.Is(err, io.ErrShortBuffer) {
				t.Fatalf("TryRecv into 3 bytes = %v, want io.ErrShortBuffer", err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if n, err := a.TryRecv(make([]byte, 64)); !errors.Is(err, ErrClosed) {
				t.Errorf("TryRecv on the closed consumer = %d bytes, %v; want ErrClosed", n, err)
			}
			if m, err := a.TryReceive(); !errors.Is(err, ErrClosed) {
				t.Errorf("TryReceive on the closed consumer = %q, %v; want ErrClosed", m, err)
				a.Release()
			}
			b := mustConsumer(t, r)
			buf := make([]byte, 64)
			n, err := b.TryRecv(buf)
			if err != nil || string(buf[:n]) != "only-message" || !b.Redelivered() {
				t.Fatalf("the next consumer's TryRecv = %q, %v, redelivered %v; want the message, marked", buf[:n], err, b.Redelivered())
			}
			if n, err := b.TryRecv(buf); !errors.Is(err, ErrEmpty) {
				t.Errorf("then TryRecv = %q, %v; want ErrEmpty (delivered once)", buf[:n], err)
			}
		})
	}
}
