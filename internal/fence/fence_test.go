package fence

import (
	"fmt"
	"sync/atomic"
	"testing"
)

func TestStore64(t *testing.T) {
	var w atomic.Uint64
	for _, release := range []bool{false, Register()} {
		Store64(&w, 42, release)
		if got := w.Load(); got != 42 {
			t.Fatalf("release=%v: stored 42, loaded %d", release, got)
		}
		w.Store(0)
	}
}

func TestStoreBeforeCopy64(t *testing.T) {
	var w atomic.Uint64
	for _, release := range []bool{false, Register()} {
		for _, n := range []int{0, CopyFenceMin - 1, CopyFenceMin, 1 << 30} {
			StoreBeforeCopy64(&w, uint64(n)+1, release, n)
			if got := w.Load(); got != uint64(n)+1 {
				t.Fatalf("release=%v n=%d: stored %d, loaded %d", release, n, n+1, got)
			}
		}
	}
}

func TestBarrierAfterRegister(t *testing.T) {
	if !Register() {
		t.Skip("release stores unavailable here (race build, non-amd64 or no membarrier)")
	}
	if err := Barrier(); err != nil {
		t.Fatalf("Barrier after a successful Register: %v", err)
	}
}

func BenchmarkStore64(b *testing.B) {
	var w atomic.Uint64
	for _, c := range []struct {
		name    string
		release bool
	}{{"seqcst", false}, {"release", Register()}} {
		b.Run(c.name, func(b *testing.B) {
			var i uint64
			for b.Loop() {
				i++
				Store64(&w, i, c.release)
			}
		})
	}
}

// BenchmarkStoreBeforeCopy64 is what the fence of a seqlock mark adds to
// a message: mark, copy, publish, with the mark a plain store or the
// locked exchange (copies of n bytes into a two-slot ring, so that the
// cache stays warm).
func BenchmarkStoreBeforeCopy64(b *testing.B) {
	release := Register()
	var seq, cursor atomic.Uint64
	for _, n := range []int{64, CopyFenceMin, 1 << 20} {
		src := make([]byte, n)
		slots := [2][]byte{make([]byte, n), make([]byte, n)}
		for _, c := range []struct {
			name  string
			fence int // the n StoreBeforeCopy64 is told
		}{{"plain", 0}, {"locked", CopyFenceMin}} {
			b.Run(fmt.Sprintf("size=%d/%s", n, c.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				var i uint64
				for b.Loop() {
					i++
					StoreBeforeCopy64(&seq, i, release, c.fence)
					copy(slots[i&1], src)
					Store64(&cursor, i, release)
				}
			})
		}
	}
}

func BenchmarkBarrier(b *testing.B) {
	if !Register() {
		b.Skip("no membarrier")
	}
	for b.Loop() {
		_ = Barrier()
	}
}
