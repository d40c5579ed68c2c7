package ring

// A producer on a shrunk file is told so: consumers and readers check the
// end mark as they read, so a message published into a shrunk file reaches
// no one, and a call that said nil would lose it silently. And Open refuses
// a file whose end mark is gone, though its size and header look right.

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestProducerCallsOnAShrunkFileSayErrTruncated: the file is cut (the end
// unit's page gone) or cut and grown back (the mark reads zero) under a
// live producer: Send, TrySend, SendBatch, Commit (after a claim, which
// publishes nothing; the Commit ends the claim) and CommitBatch (of a
// batch claimed before the cut) all return ErrTruncated, on slot and
// record rings of every kind.
func TestProducerCallsOnAShrunkFileSayErrTruncated(t *testing.T) {
	for _, regrow := range []bool{false, true} {
		for _, o := range []Options{
			{Kind: SPSC, SlotSize: 64, Slots: 64},
			{Kind: MPMC, SlotSize: 64, Slots: 64},
			{Kind: Broadcast, SlotSize: 64, Slots: 64},
			{Kind: SPSC, Records: true, Capacity: 8 << 10, MaxMessage: 64},
			{Kind: Broadcast, Records: true, Capacity: 8 << 10, MaxMessage: 64},
		} {
			name := o.Kind.String()
			if o.Records {
				name += " records"
			}
			if regrow {
				name += ", cut and grown back"
			}
			t.Run(name, func(t *testing.T) {
				if raceEnabled && !regrow {
					t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
				}
				r := newTestRing(t, o)
				p, err := r.Producer()
				if err != nil {
					t.Fatal(err)
				}
				msg := make([]byte, 32)
				if err := p.TrySend(msg); err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				b, err := p.ClaimBatch(ctx, 2) // open across the cut
				if err != nil {
					t.Fatal(err)
				}
				b.SetLen(0, 8)
				size := int64(r.hdr.FileSize)
				if err := os.Truncate(r.Path(), size/2); err != nil {
					t.Fatal(err)
				}
				if regrow {
					if err := os.Truncate(r.Path(), size); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.CommitBatch(1); !errors.Is(err, ErrTruncated) {
					t.Errorf("CommitBatch of a batch claimed before the cut = %v, want ErrTruncated", err)
				}
				claim := claimed(p)
				calls := map[string]func() error{
					"Send":      func() error { return p.Send(ctx, msg) },
					"TrySend":   func() error { return p.TrySend(msg) },
					"SendBatch": func() error { _, err := p.SendBatch(ctx, [][]byte{msg}); return err },
					"ClaimBatch": func() error {
						_, err := p.ClaimBatch(ctx, 2)
						if err == nil {
							p.Abort()
						}
						return err
					},
					// A claim is refused too: SPSC and record claims touch
					// no shared memory, so they handed out a slot whose page
					// was gone, and its first write was a SIGBUS (a
					// black-box tester).
					"Claim":     func() error { return claim(p.Claim(ctx)) },
					"TryClaim":  func() error { return claim(p.TryClaim()) },
					"ClaimN":    func() error { return claim(p.ClaimN(ctx, 8)) },
					"TryClaimN": func() error { return claim(p.TryClaimN(8)) },
					"Claim, then Commit": func() error {
						if _, err := p.TryClaim(); err != nil {
							return err
						}
						return p.Commit(len(msg)) // ends the claim: the calls after it must not panic
					},
				}
				for call, f := range calls {
					if err := f(); !errors.Is(err, ErrTruncated) {
						t.Errorf("%s on a shrunk file = %v, want ErrTruncated", call, err)
					}
				}
			})
		}
	}
}

// claimed is a claim's error, its claim aborted where it made one (so the
// calls after it do not panic).
func claimed(p *Producer) func([]byte, error) error {
	return func(_ []byte, err error) error {
		if err == nil {
			p.Abort()
		}
		return err
	}
}

// TestOpenRefusesAFileWhoseEndMarkIsGone: a ring file cut and grown back to
// its size, and one whose end mark was overwritten, have a whole header
// and the right size; Open says ErrTruncated instead of handing out a ring
// every consumer would refuse.
func TestOpenRefusesAFileWhoseEndMarkIsGone(t *testing.T) {
	for _, how := range []string{"cut and grown back", "mark overwritten"} {
		t.Run(how, func(t *testing.T) {
			r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 64})
			path, size, end := r.Path(), int64(r.hdr.FileSize), int64(r.hdr.EndOffset)
			r.Close()
			if how == "cut and grown back" {
				if err := os.Truncate(path, size/2); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(path, size); err != nil {
					t.Fatal(err)
				}
			} else {
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, err = f.WriteAt(make([]byte, 8), end)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			if r2, err := Open(r.Name()); err == nil {
				r2.Close()
				t.Fatal("Open succeeded, want ErrTruncated")
			} else if !errors.Is(err, ErrTruncated) {
				t.Fatalf("Open = %v, want ErrTruncated", err)
			}
		})
	}
}
