package ring

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestALeaseOrClaimHeldAcrossATruncationEndsInErrTruncated: an MPMC or
// MPSC consumer holds a message when the file is cut to a few hundred
// bytes (slot 0 stays on the first page, zeroed) or cut and grown back.
// The control words then read zero, which no peer's repair writes either:
// Release says ErrTruncated, as every other call does (it said ErrRevoked,
// blaming a peer that did not exist), and so does a producer that finds
// its claim's word so.
func TestALeaseOrClaimHeldAcrossATruncationEndsInErrTruncated(t *testing.T) {
	for _, regrow := range []bool{false, true} {
		for _, kind := range []Kind{MPMC, MPSC} {
			name := kind.String()
			if regrow {
				name += ", cut and grown back"
			}
			t.Run(name, func(t *testing.T) {
				if raceEnabled && !regrow {
					t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
				}
				r := newTestRing(t, Options{Kind: kind, SlotSize: 64, Slots: 16})
				p, c := mustProducer(t, r), mustConsumer(t, r)
				ctx := context.Background()
				if err := p.Send(ctx, []byte("held")); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Receive(ctx); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(r.Path(), 700); err != nil {
					t.Fatal(err)
				}
				if regrow {
					if err := os.Truncate(r.Path(), int64(r.hdr.FileSize)); err != nil {
						t.Fatal(err)
					}
				}
				if err := c.Release(); !errors.Is(err, ErrTruncated) {
					t.Errorf("Release of a message held across the cut = %v, want ErrTruncated", err)
				}
				// A producer's Commit checks the end mark before it publishes
				// (Producer.shrunk); a cut after that check meets a control
				// word read as zero in publish, which is the cut, too.
				var lost error
				func() {
					defer r.endGuard(&lost, beginGuard()) // as every call on the mapping
					lost = p.e.(*mpmcProducer).revokedErr(0, 0)
				}()
				if !errors.Is(lost, ErrTruncated) {
					t.Errorf("a producer's claim found gone after the cut = %v, want ErrTruncated", lost)
				}
			})
		}
	}
}
