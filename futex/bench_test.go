package futex_test

import (
	"testing"

	"github.com/shmring/shmring/futex"
)

// BenchmarkWakeNoWaiter is what a waker pays when it skips the waiter-count
// check and calls Wake anyway: the cost the protocol in doc.go avoids.
func BenchmarkWakeNoWaiter(b *testing.B) {
	var w uint32
	b.ReportAllocs()
	for b.Loop() {
		if _, err := futex.Wake(&w, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWaitValueChanged is what a sleeper pays when the value moved
// between its re-check and the kernel's compare.
func BenchmarkWaitValueChanged(b *testing.B) {
	w := uint32(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := futex.Wait(&w, 0, 0); err != futex.ErrValueChanged {
			b.Fatal(err)
		}
	}
}
