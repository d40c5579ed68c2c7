package futex_test

import (
	"errors"
	"math"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/proctest"
)

// awaitSleepers returns once at least want tasks sleep on word (shared or
// private flavour) with the value val. The probe does not wake them, so
// afterwards they are certainly asleep. Bounded by the test's watchdog.
func awaitSleepers(t testing.TB, word *uint32, val uint32, private bool, want int) {
	t.Helper()
	for {
		n, err := futex.Sleepers(word, val, private)
		if err != nil {
			t.Fatalf("Sleepers: %v", err)
		}
		if n >= want {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// wakeUntil calls Wake on word until it has woken want tasks in all, and
// fails if a single call reports more than are left: with the word left
// unchanged, a sleeper that returned for some other reason goes back to
// sleep and is woken on a later try.
func wakeUntil(t testing.TB, word *uint32, want int) {
	t.Helper()
	for woken := 0; woken < want; {
		n, err := futex.Wake(word, math.MaxInt32)
		if err != nil {
			t.Fatal(err)
		}
		if n > want-woken {
			t.Fatalf("Wake woke %d, but only %d were left asleep", n, want-woken)
		}
		woken += n
		if woken < want {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

func TestWakeWakesGoroutinesAsleepOnASharedMapping(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	for _, sleepers := range []int{1, 3} {
		w := mapMemfd(t)
		errs := make(chan error, sleepers)
		for range sleepers {
			go func() { errs <- futex.Wait(w.ping, 0, 0) }()
		}
		awaitSleepers(t, w.ping, 0, false, sleepers)
		wakeUntil(t, w.ping, sleepers)
		for range sleepers {
			if err := <-errs; err != nil {
				t.Errorf("Wait woken by Wake returned %v, want nil", err)
			}
		}
	}
}

func TestWakeOfZeroOrFewerWakesNobody(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	w := mapMemfd(t)
	errs := make(chan error, 1)
	go func() { errs <- futex.Wait(w.ping, 0, 0) }()
	awaitSleepers(t, w.ping, 0, false, 1)
	// The kernel itself wakes one for a count of 0; Wake must not.
	for _, n := range []int{0, -1, math.MinInt} {
		if got, err := futex.Wake(w.ping, n); got != 0 || err != nil {
			t.Errorf("Wake(word, %d) with a sleeper = %d, %v; want 0, nil", n, got, err)
		}
	}
	wakeUntil(t, w.ping, 1)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func TestAMisalignedWordIsAnError(t *testing.T) {
	w := mapMemfd(t)
	odd := (*uint32)(unsafe.Add(unsafe.Pointer(w.ping), 1))
	if err := futex.Wait(odd, 0, time.Millisecond); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Wait on a misaligned word = %v, want one wrapping EINVAL", err)
	}
	if _, err := futex.Wake(odd, 1); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Wake on a misaligned word = %v, want one wrapping EINVAL", err)
	}
}
