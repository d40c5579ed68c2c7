package ring

import (
	"context"
	"testing"
)

// TestMPMCHotPathAllocatesNothing: claim, commit, send, receive, release,
// recv and the batch calls allocate nothing when the ring is neither empty
// nor full.
func TestMPMCHotPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	msg := make([]byte, 32)
	buf := make([]byte, 64)
	msgs := [][]byte{msg, msg, msg}
	tests := []struct {
		name string
		f    func(t *testing.T, p *Producer, c *Consumer)
	}{
		{"Send then Recv", func(t *testing.T, p *Producer, c *Consumer) {
			if err := p.Send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}},
		{"TrySend then TryRecv", func(t *testing.T, p *Producer, c *Consumer) {
			if err := p.TrySend(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := c.TryRecv(buf); err != nil {
				t.Fatal(err)
			}
		}},
		{"Claim, Commit, Receive, Release", func(t *testing.T, p *Producer, c *Consumer) {
			s, err := p.Claim(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Commit(copy(s, msg)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			c.Release()
		}},
		{"ClaimBatch, CommitBatch, ReceiveBatch, Release", func(t *testing.T, p *Producer, c *Consumer) {
			b, err := p.ClaimBatch(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			for i := range b.Len() {
				b.SetLen(i, copy(b.Slot(i), msg))
			}
			p.CommitBatch(b.Len())
			for got := 0; got < b.Len(); {
				ms, err := c.ReceiveBatch(ctx, 4)
				if err != nil {
					t.Fatal(err)
				}
				got += ms.Len()
				c.Release()
			}
		}},
		{"SendBatch then Recv", func(t *testing.T, p *Producer, c *Consumer) {
			n, err := p.SendBatch(ctx, msgs)
			if err != nil {
				t.Fatal(err)
			}
			for range n {
				if _, err := c.Recv(ctx, buf); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, k := range mpmcKinds {
		for _, tt := range tests {
			t.Run(k.String()+" "+tt.name, func(t *testing.T) {
				r := newMPMCRing(t, k, true, 64, 64, Options{})
				p, c := mustProducer(t, r), mustConsumer(t, r)
				if err := p.Send(ctx, msg); err != nil { // never empty
					t.Fatal(err)
				}
				if n := testing.AllocsPerRun(1000, func() { tt.f(t, p, c) }); n != 0 {
					t.Errorf("%v allocations per run, want 0", n)
				}
			})
		}
	}
}

// TestMPMCStreamingWithoutWaitingMakesNoFutexCall: while neither side has
// to wait, no one sleeps and no one wakes (the sleepers count is zero, so
// publishing and releasing make no system call).
func TestMPMCStreamingWithoutWaitingMakesNoFutexCall(t *testing.T) {
	for _, k := range mpmcKinds {
		t.Run(k.String(), func(t *testing.T) {
			r := newMPMCRing(t, k, true, 32, 256, Options{})
			p1, p2, c := mustProducer(t, r), mustProducer(t, r), mustConsumer(t, r)
			ctx := context.Background()
			buf := make([]byte, 32)
			for lap := range 20 {
				for i := range 100 {
					p := p1
					if i%2 == 1 {
						p = p2
					}
					if err := p.Send(ctx, []byte{byte(lap), byte(i)}); err != nil {
						t.Fatal(err)
					}
				}
				for range 100 {
					if _, err := c.Recv(ctx, buf); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, s := range []Stats{p1.Stats(), p2.Stats(), c.Stats()} {
				if s.Sleeps != 0 || s.Wakes != 0 {
					t.Errorf("stats %+v, want no sleep and no wake", s)
				}
			}
		})
	}
}
