//go:build linux

package ring

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
)

// TestCreateIsNotCutShortBySignals: hugetlbfs (and tmpfs) give up a
// fallocate when any signal is pending, and the Go runtime signals its own
// threads (SIGURG) to preempt goroutines. Creating rings while signals
// arrive gives what it would without them: a ring, or (on huge pages,
// where none are free) ErrNoHugePages. It failed with "allocate size=...:
// interrupted system call" (seen in CI, on a machine with no huge pages).
func TestCreateIsNotCutShortBySignals(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // SIGURG, which the runtime takes as a preemption request and ignores otherwise
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				syscall.Kill(os.Getpid(), syscall.SIGURG)
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := range 200 {
		o := Options{Kind: SPSC, SlotSize: 1 << 20, Slots: 4, Memfd: true, HugePages: i%2 == 0}
		r, err := Create(uniqueName(t), o)
		if o.HugePages && errors.Is(err, ErrNoHugePages) {
			continue
		}
		if err != nil {
			t.Fatalf("create %d (huge pages: %v) under signals: %v", i, o.HugePages, err)
		}
		r.Close()
	}
}
