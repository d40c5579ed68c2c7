package futex_test

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/proctest"
)

func TestWaitReturnsWithoutSleeping(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	tests := []struct {
		name    string
		word    uint32
		val     uint32
		timeout time.Duration
		want    error
	}{
		{"a value that does not match returns ErrValueChanged", 1, 0, 0, futex.ErrValueChanged},
		{"a value that does not match returns ErrValueChanged even with no timeout", 7, 8, -1, futex.ErrValueChanged},
		{"a value that does not match returns ErrValueChanged before any timeout", 1, 0, time.Hour, futex.ErrValueChanged},
		{"a matching value with a short timeout and no waker returns ErrTimeout", 5, 5, time.Millisecond, futex.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.word
			err := futex.Wait(&w, tt.val, tt.timeout)
			for err == nil { // a spurious wake-up is allowed; nobody wakes this word
				err = futex.Wait(&w, tt.val, tt.timeout)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Wait(&%d, %d, %v) = %v, want %v", tt.word, tt.val, tt.timeout, err, tt.want)
			}
		})
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	if errors.Is(futex.ErrTimeout, futex.ErrValueChanged) || errors.Is(futex.ErrValueChanged, futex.ErrTimeout) {
		t.Error("ErrTimeout and ErrValueChanged match each other")
	}
	if !errors.Is(futex.ErrTimeout, os.ErrDeadlineExceeded) {
		t.Error("ErrTimeout does not match os.ErrDeadlineExceeded")
	}
}

func TestWakeWithNoWaiterWakesNobody(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 2, int(^uint(0) >> 1)} {
		var w uint32
		if got, err := futex.Wake(&w, n); got != 0 || err != nil {
			t.Errorf("Wake(&w, %d) with no waiter = %d, %v; want 0, nil", n, got, err)
		}
	}
}

// TestProtocolWakesAGoroutine runs the documented protocol between two
// goroutines on ordinary memory, which works on every platform (the
// fallback polls).
func TestProtocolWakesAGoroutine(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	var word, waiters uint32
	done := make(chan uint32)
	go func() {
		v, err := await(&word, &waiters, 0)
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	if _, err := publish(&word, &waiters, 42); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != 42 {
		t.Fatalf("the sleeper saw %d, want 42", got)
	}
}

func TestWaitDoesNotAllocate(t *testing.T) {
	tests := []struct {
		name string
		run  func()
	}{
		{"Wait that finds another value", func() { w := uint32(1); _ = futex.Wait(&w, 0, 0) }},
		{"Wait that times out", func() { w := uint32(0); _ = futex.Wait(&w, 0, time.Nanosecond) }},
		{"Wake with no waiter", func() { w := uint32(0); _, _ = futex.Wake(&w, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tt.run); got != 0 {
				t.Errorf("%s allocates %v times per call, want 0", tt.name, got)
			}
		})
	}
}

// await is the sleeper's half of the protocol in doc.go, without the spin a
// real caller would put first, so that every round the tests run reaches
// the futex. It returns the new value.
func await(word, waiters *uint32, old uint32) (uint32, error) {
	for {
		if v := atomic.LoadUint32(word); v != old {
			return v, nil
		}
		atomic.AddUint32(waiters, 1) // announce
		var err error
		if atomic.LoadUint32(word) == old { // re-check
			err = futex.Wait(word, old, 0)
		}
		atomic.AddUint32(waiters, ^uint32(0))
		if err != nil && !errors.Is(err, futex.ErrValueChanged) {
			return 0, err
		}
	}
}

// publish is the waker's half: store first, wake only if someone sleeps.
// It returns how many it woke.
func publish(word, waiters *uint32, v uint32) (int, error) {
	atomic.StoreUint32(word, v)
	if atomic.LoadUint32(waiters) == 0 {
		return 0, nil
	}
	return futex.Wake(word, 1)
}
