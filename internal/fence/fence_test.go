package fence

import (
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

func BenchmarkBarrier(b *testing.B) {
	if !Register() {
		b.Skip("no membarrier")
	}
	for b.Loop() {
		_ = Barrier()
	}
}
