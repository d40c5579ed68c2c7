package ring

// A blocking call that ends with its context returns context.Cause: a
// deadline given with context.WithDeadlineCause comes back as that cause,
// not a bare context.DeadlineExceeded.

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestADeadlineEndsABlockedCallWithItsCause(t *testing.T) {
	cause := errors.New("the quote is stale")
	cases := []struct {
		name string
		o    Options
		call func(t *testing.T, r *Ring) func(ctx context.Context) error
	}{
		{"spsc Receive", Options{Kind: SPSC, SlotSize: 16, Slots: 4}, func(t *testing.T, r *Ring) func(context.Context) error {
			c := mustConsumer(t, r)
			return func(ctx context.Context) error { _, err := c.Receive(ctx); return err }
		}},
		{"spsc Send on a full ring", Options{Kind: SPSC, SlotSize: 16, Slots: 4}, func(t *testing.T, r *Ring) func(context.Context) error {
			mustConsumer(t, r)
			p := mustProducer(t, r)
			fillUntilFull(t, p)
			return func(ctx context.Context) error { return p.Send(ctx, []byte("x")) }
		}},
		{"mpmc Receive", Options{Kind: MPMC, SlotSize: 16, Slots: 4}, func(t *testing.T, r *Ring) func(context.Context) error {
			c := mustConsumer(t, r)
			return func(ctx context.Context) error { _, err := c.Receive(ctx); return err }
		}},
		{"broadcast Receive", Options{Kind: Broadcast, SlotSize: 16, Slots: 4}, func(t *testing.T, r *Ring) func(context.Context) error {
			rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
			return func(ctx context.Context) error { _, err := rd.Receive(ctx); return err }
		}},
		{"broadcast Send gated by a lossless reader", Options{Kind: Broadcast, SlotSize: 16, Slots: 4}, func(t *testing.T, r *Ring) func(context.Context) error {
			mustReader(t, r, ReaderOptions{Policy: Lossless})
			p := mustProducer(t, r)
			fillUntilFull(t, p)
			return func(ctx context.Context) error { return p.Send(ctx, []byte("x")) }
		}},
	}
	for _, tc := range cases {
		for _, wait := range []string{"sleep", "spin"} {
			t.Run(tc.name+"/"+wait, func(t *testing.T) {
				r := newTestRing(t, tc.o)
				call := tc.call(t, r)
				for _, h := range r.handlesForTest() {
					h.SetWait(waitByName[wait])
				}
				ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(20*time.Millisecond), cause)
				defer cancel()
				if err := call(ctx); !errors.Is(err, cause) {
					t.Fatalf("the call ended by the deadline returned %v, want its cause %q", err, cause)
				}
			})
		}
	}
}

// handlesForTest lists the ring's open handles that take a wait strategy.
func (r *Ring) handlesForTest() []interface{ SetWait(WaitStrategy) } {
	r.mu.Lock()
	defer r.mu.Unlock()
	var hs []interface{ SetWait(WaitStrategy) }
	for h := range r.handles {
		if w, ok := h.(interface{ SetWait(WaitStrategy) }); ok {
			hs = append(hs, w)
		}
	}
	return hs
}
