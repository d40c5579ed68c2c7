//go:build linux

package ring

import (
	"fmt"
	"testing"
)

// TestRingCloseAfterAnSPSCConsumerStoredItsCursorLosesNothing: Ring.Close
// runs to its end (the ring unmapped) right after a consumer's Recv or
// Release on another goroutine stored its cursor, before the wake-up that
// follows faults on the unmapped ring. The message is consumed, so the call
// returns it (Recv) or nil (Release), and the next consumer goes on after
// it. The calls said ErrClosed, and a caller counting on the message
// coming again lost it. (From a black-box tester: 3-17 of 300-400 cuts.)
func TestRingCloseAfterAnSPSCConsumerStoredItsCursorLosesNothing(t *testing.T) {
	requireStepHook(t)
	if raceEnabled {
		t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
	}
	for _, o := range []Options{
		{Kind: SPSC, SlotSize: 64, Slots: 8},
		{Kind: SPSC, Records: true, Capacity: 1024},
	} {
		for _, recv := range []bool{true, false} {
			t.Run(fmt.Sprintf("records=%v/recv=%v", o.Records, recv), func(t *testing.T) {
				r, other, c, ctx := cutSetup(t, o)
				var err error
				armed := true
				setStepHook(func(s step) {
					if s == stepAfterRelease && armed {
						armed = false
						other.Close()
					}
				})
				defer setStepHook(nil)
				buf := make([]byte, 64)
				n, err := takeOne(ctx, c, buf, recv)
				setStepHook(nil)
				if armed {
					t.Fatalf("the call never stored its cursor (err %v)", err)
				}
				if err != nil {
					t.Fatalf("a call cut after its cursor store = %v, want message 0 and nil", err)
				}
				if err := checkMessage(buf[:n], 0, 32); err != nil {
					t.Fatal(err)
				}
				nextGetsFrom(ctx, t, r, 1, false)
			})
		}
	}
}
