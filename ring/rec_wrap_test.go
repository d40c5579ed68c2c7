//go:build linux

package ring

// A record ring carries messages of up to half its capacity wherever its
// producer stands (issue 12: MaxMessage's bound is at least Capacity/2):
// a message that does not fit before the end of the data area wraps whole,
// its header there and its bytes from the start (LAYOUT.md section 17.4).

import (
	"context"
	"testing"

	"github.com/shmring/shmring/layout"
)

func TestRecordRingCarriesHalfItsCapacityFromEveryOffset(t *testing.T) {
	const capacity = 1 << 10
	const short = 100 // what a claim of the longest message commits, every other offset
	for _, kind := range []string{"spsc", "lossless", "lossy"} {
		t.Run(kind, func(t *testing.T) {
			o := Options{Kind: SPSC, Records: true, Capacity: capacity}
			if kind != "spsc" {
				o.Kind = Broadcast
			}
			r := newTestRing(t, o)
			if r.MaxMessage() != capacity/2 {
				t.Fatalf("MaxMessage() = %d, want Capacity/2 = %d", r.MaxMessage(), capacity/2)
			}
			recv := readEndOf(t, r, kind)
			p := mustProducer(t, r)
			ctx := context.Background()
			buf := make([]byte, capacity/2)
			var seq uint64
			at := uint64(0) // the producer's data offset, by the placement rule
			take := func(n int, inPlace bool) {
				t.Helper()
				var m []byte
				if inPlace {
					var err error
					if m, err = recv.Receive(ctx); err != nil {
						t.Fatalf("Receive of message %d at offset %d: %v", seq, at, err)
					}
				} else {
					k, err := recv.Recv(ctx, buf)
					if err != nil {
						t.Fatalf("Recv of message %d at offset %d: %v", seq, at, err)
					}
					m = buf[:k]
				}
				if err := checkMessage(m, seq, n); err != nil {
					t.Fatalf("message %d at offset %d: %v", seq, at, err)
				}
				if inPlace {
					if err := recv.Release(); err != nil {
						t.Fatal(err)
					}
				}
				seq++
			}
			for target := uint64(0); target < capacity; target += layout.RecordAlign {
				for at != target { // empty messages move the producer 16 bytes at a time
					if err := p.Send(ctx, nil); err != nil {
						t.Fatal(err)
					}
					at = (at + layout.RecordSize(0)) % capacity
					if _, err := recv.Recv(ctx, buf); err != nil {
						t.Fatal(err)
					}
					seq++
				}
				n := capacity / 2
				wraps := at+layout.RecordSize(uint32(n)) > capacity
				if target/layout.RecordAlign%2 == 0 {
					msg := make([]byte, n)
					encodeMessage(msg, seq)
					if err := p.Send(ctx, msg); err != nil {
						t.Fatalf("Send of %d bytes at offset %d: %v", n, at, err)
					}
				} else { // the longest claim, a short commit: wrapped where the claim did not fit
					s, err := p.ClaimN(ctx, n)
					if err != nil {
						t.Fatalf("ClaimN(%d) at offset %d: %v", n, at, err)
					}
					n = short
					encodeMessage(s[:n], seq)
					if err := p.Commit(n); err != nil {
						t.Fatal(err)
					}
				}
				if wraps {
					at = layout.RecordBody(uint32(n))
				} else {
					at += layout.RecordSize(uint32(n))
				}
				at %= capacity
				take(n, target/layout.RecordAlign%4 < 2)
			}
		})
	}
}
