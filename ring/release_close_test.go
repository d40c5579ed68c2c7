package ring

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestReleaseAfterACloseThatWokeReceiveIsErrClosed: a Receive blocked when
// another goroutine closes the Ring returns ErrClosed, and a deferred
// Release right after it returns ErrClosed too, as the godoc promises,
// even before the ring's Close has marked the handle closed. It used to
// panic "Release without a received message" in that window.
func TestReleaseAfterACloseThatWokeReceiveIsErrClosed(t *testing.T) {
	for _, o := range []Options{
		{Kind: SPSC, SlotSize: 64, Slots: 8},
		{Kind: SPSC, Records: true, Capacity: 1 << 12},
		{Kind: Broadcast, SlotSize: 64, Slots: 8},
		{Kind: Broadcast, Records: true, Capacity: 1 << 12},
	} {
		for range 20 {
			name := uniqueName(t)
			r, err := Create(name, o)
			if err != nil {
				t.Fatal(err)
			}
			var receive func() ([]byte, error)
			var release func() error
			if o.Kind == Broadcast {
				rd, err := r.Reader(ReaderOptions{Policy: Lossless})
				if err != nil {
					t.Fatal(err)
				}
				receive = func() ([]byte, error) { return rd.Receive(context.Background()) }
				release = rd.Release
			} else {
				c, err := r.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				receive = func() ([]byte, error) { return c.Receive(context.Background()) }
				release = c.Release
			}
			type result struct{ recv, rel error }
			done := make(chan result)
			go func() {
				var res result
				defer func() {
					if p := recover(); p != nil {
						res.rel = errors.New("Release panicked: " + p.(string))
					}
					done <- res
				}()
				_, res.recv = receive()
				res.rel = release()
			}()
			waitForWaiters(t, r)
			r.Close()
			res := <-done
			Remove(name)
			if !errors.Is(res.recv, ErrClosed) || !errors.Is(res.rel, ErrClosed) {
				t.Fatalf("%+v: Receive woken by Close: %v, then Release: %v; want ErrClosed both", o, res.recv, res.rel)
			}
		}
	}
}

// waitForWaiters returns once a handle of r waits in a blocking call (it
// has counted itself in r.waiters, past its spin).
func waitForWaiters(t *testing.T, r *Ring) {
	t.Helper()
	deadline := time.Now().Add(hangBound)
	for r.waiters.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no handle ever blocked")
		}
		runtime.Gosched()
	}
}
