package ring

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRingCloseInsideAnMPMCReceiveLosesNothing: Ring.Close runs to its end
// (the ring unmapped) while a consumer's call on another goroutine stands
// at a step of its receive; the call says ErrClosed or returns its message,
// and whatever it took and did not return reaches the next consumer,
// marked Redelivered. Close left the entry free while the call had
// stamped a slot it had not recorded yet, so no consumer could ever take
// that slot and producers found the ring full for good; and a Recv whose
// slot was freed said ErrClosed for a fault after it, losing the message.
// (From a black-box tester.)
func TestRingCloseInsideAnMPMCReceiveLosesNothing(t *testing.T) {
	requireStepHook(t)
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	for _, kind := range []Kind{MPMC, MPSC} {
		for _, tc := range []struct {
			name      string
			at        step
			recv      bool // Recv; else Receive, then Release
			delivered bool // the call returns message 0 (and Release frees it)
		}{
			{"Receive, its slot stamped", stepAfterReceive, false, false},
			{"Release, its slot freed", stepAfterRelease, false, true},
			{"Recv, copying", stepMidRead, true, false},
			{"Recv, its slot freed", stepAfterRelease, true, true},
		} {
			t.Run(kind.String()+"/"+tc.name, func(t *testing.T) {
				r := newTestRing(t, Options{Kind: kind, SlotSize: 64, Slots: 8})
				p := mustProducer(t, r)
				ctx, cancel := context.WithTimeout(context.Background(), HangBound)
				defer cancel()
				m := make([]byte, 32)
				for seq := range uint64(3) {
					encodeMessage(m, seq)
					if err := p.Send(ctx, m); err != nil {
						t.Fatal(err)
					}
				}
				other, err := Open(r.Name())
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				c, err := other.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				armed := true
				setStepHook(func(s step) {
					if s == tc.at && armed {
						armed = false
						done := make(chan struct{})
						go func() { other.Close(); close(done) }()
						<-done
					}
				})
				defer setStepHook(nil)
				buf := make([]byte, 64)
				var n int
				if tc.recv {
					n, err = c.Recv(ctx, buf)
				} else {
					var msg []byte
					msg, err = c.Receive(ctx)
					n = copy(buf, msg)
					if err == nil {
						err = c.Release()
					}
				}
				setStepHook(nil)
				first := uint64(0)
				switch {
				case tc.delivered && err == nil:
					if err := checkMessage(buf[:n], 0, 32); err != nil {
						t.Fatal(err)
					}
					first = 1
				case tc.delivered:
					t.Fatalf("a call whose slot was freed when the ring closed = %v, want message 0 and nil", err)
				case !errors.Is(err, ErrClosed):
					t.Fatalf("a receive the ring's Close cut = %d bytes, %v; want ErrClosed", n, err)
				}
				next := mustConsumer(t, r)
				for seq := first; seq < 3; seq++ {
					rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
					k, err := next.Recv(rctx, buf)
					rcancel()
					if err != nil {
						t.Fatalf("the next consumer, message %d: %v (the slot the closed one took is stuck)", seq, err)
					}
					if err := checkMessage(buf[:k], seq, 32); err != nil {
						t.Fatal(err)
					}
					if want := seq == 0; next.Redelivered() != want {
						t.Errorf("message %d: Redelivered() = %v, want %v", seq, next.Redelivered(), want)
					}
				}
			})
		}
	}
}
