package ring_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shmring/shmring/ring"
)

// TestContractClaimN: on every kind, ClaimN(n) gives exactly n contiguous
// bytes for every n up to MaxMessage (a slot ring's SlotSize), Commit(k)
// publishes k <= n of them and refuses more with ErrTooLarge (the claim
// stays open), ClaimN beyond MaxMessage is ErrTooLarge, TryClaimN on a full
// ring is ErrFull, and a negative n panics naming the misuse.
func TestContractClaimN(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		ctx := context.Background()
		cr := newContractRing(t, k, 64, 4)
		p, rd := cr.ends(t)
		if got := cr.r.MaxMessage(); got != 64 {
			t.Fatalf("MaxMessage() = %d, want 64", got)
		}
		buf := make([]byte, 64)
		for _, n := range []int{0, 1, 17, 63, 64} {
			s, err := p.ClaimN(ctx, n)
			if err != nil || len(s) != n || cap(s) != n {
				t.Fatalf("ClaimN(%d) = %d bytes (cap %d), %v; want exactly %d, no room to reslice into", n, len(s), cap(s), err, n)
			}
			for i := range s {
				s[i] = byte(n + i)
			}
			if err := p.Commit(n + 1); !errors.Is(err, ring.ErrTooLarge) {
				t.Fatalf("Commit(%d) of a %d-byte claim = %v, want ErrTooLarge", n+1, n, err)
			}
			k := n / 2
			if err := p.Commit(k); err != nil {
				t.Fatalf("Commit(%d) of a %d-byte claim = %v", k, n, err)
			}
			got, err := rd.Recv(ctx, buf)
			if err != nil || got != k {
				t.Fatalf("Recv after ClaimN(%d), Commit(%d) = %d, %v", n, k, got, err)
			}
			for i := range got {
				if buf[i] != byte(n+i) {
					t.Fatalf("byte %d of a ClaimN(%d) message = %d, want %d", i, n, buf[i], byte(n+i))
				}
			}
		}
		if _, err := p.ClaimN(ctx, 65); !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("ClaimN(MaxMessage+1) = %v, want ErrTooLarge", err)
		}
		if _, err := p.TryClaimN(65); !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("TryClaimN(MaxMessage+1) = %v, want ErrTooLarge", err)
		}
		mustPanicNaming(t, "ClaimN", func() { p.ClaimN(ctx, -1) })
		if k.lossy() {
			return // never full
		}
		for {
			s, err := p.TryClaimN(64)
			if errors.Is(err, ring.ErrFull) {
				break
			}
			if err != nil {
				t.Fatalf("TryClaimN(64) filling the ring = %v", err)
			}
			if err := p.Commit(len(s)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := rd.Recv(ctx, buf); err != nil || n != 64 {
			t.Fatalf("Recv of a full ring = %d, %v", n, err)
		}
		if _, err := p.TryClaimN(64); err != nil {
			t.Errorf("TryClaimN(64) once a message was taken = %v, want room", err)
		}
		p.Abort()
	})
}

// TestCreateRecordOptions: what a record ring's options may and may not say.
func TestCreateRecordOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    ring.Options
		ok   bool
	}{
		{"SPSC records with the default MaxMessage", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1 << 12}, true},
		{"Broadcast records", ring.Options{Kind: ring.Broadcast, Records: true, Capacity: 1 << 12, MaxMessage: 100}, true},
		{"MaxMessage at the bound, Capacity/2", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1 << 12, MaxMessage: 1 << 11}, true},
		{"MaxMessage past the bound", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1 << 12, MaxMessage: 1<<11 + 1}, false},
		{"the smallest ring at its bound", ring.Options{Kind: ring.Broadcast, Records: true, Capacity: 64, MaxMessage: 32}, true},
		{"MPMC records", ring.Options{Kind: ring.MPMC, Records: true, Capacity: 1 << 12}, false},
		{"MPSC records", ring.Options{Kind: ring.MPSC, Records: true, Capacity: 1 << 12}, false},
		{"a capacity that is no power of two", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 3000}, false},
		{"a capacity below 64", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 32}, false},
		{"no capacity", ring.Options{Kind: ring.SPSC, Records: true}, false},
		{"slot options on a record ring", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1 << 12, SlotSize: 64, Slots: 8}, false},
		{"record options on a slot ring", ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8, Capacity: 1 << 12}, false},
		{"a negative MaxMessage", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 1 << 12, MaxMessage: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := ring.UniqueName(t)
			r, err := ring.Create(name, tc.o)
			if err == nil {
				defer ring.Remove(name)
				defer r.Close()
			}
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, ring.ErrInvalid) {
				t.Fatalf("Create(%+v) = %v; want ok=%v, else ErrInvalid", tc.o, err, tc.ok)
			}
			if err != nil {
				return
			}
			want := tc.o.MaxMessage
			if want == 0 {
				want = tc.o.Capacity / 2
			}
			if !r.Records() || r.Capacity() != tc.o.Capacity || r.MaxMessage() != want || r.SlotSize() != want || r.Slots() != tc.o.Capacity/16 {
				t.Errorf("Records %v Capacity %d MaxMessage %d SlotSize %d Slots %d; want true %d %d %d %d",
					r.Records(), r.Capacity(), r.MaxMessage(), r.SlotSize(), r.Slots(), tc.o.Capacity, want, want, tc.o.Capacity/16)
			}
			o, err := ring.Open(name)
			if err != nil {
				t.Fatalf("Open of a record ring = %v", err)
			}
			defer o.Close()
			if o.Header() != r.Header() {
				t.Errorf("Open's header %+v, Create's %+v", o.Header(), r.Header())
			}
		})
	}
}
