package proctest

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// hardExitAfter is how long a test may stay stuck after its watchdog fired
// and killed its children before the whole binary exits: a test blocked on
// something other than a child cannot be unblocked from outside.
const hardExitAfter = 10 * time.Second

// deadlineMargin is how long before `go test -timeout` a watchdog fires at
// the latest, so that our goroutine dump and child kill come first.
const deadlineMargin = 5 * time.Second

// Watchdog guards t against hanging: if t is still running after d, it
// fails t with every goroutine's stack and kills the children t (and its
// subtests) started, which unblocks a parent waiting for them. If the test
// still has not finished hardExitAfter later (or shortly before
// -test.timeout, if that comes first), the process prints the stacks again
// and exits with status 2, since that report would otherwise never show. It never asserts anything about speed: d
// should be far longer than the test takes on the slowest machine (a
// minute, say). When -test.timeout would strike first, the watchdog fires
// shortly before it instead.
func Watchdog(t testing.TB, d time.Duration) {
	t.Helper()
	var deadline time.Time // -test.timeout's, if any
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		deadline, _ = dt.Deadline()
	}
	if !deadline.IsZero() {
		if left := time.Until(deadline) - deadlineMargin; left > 0 && left < d {
			d = left
		}
	}
	name := t.Name()
	var (
		mu      sync.Mutex
		stopped bool
		hard    *time.Timer
	)
	fire := time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		n := killChildren(name)
		t.Errorf("proctest: watchdog: %s still running after %v; killed %d child process(es)\n%s", name, d, n, stacks())
		// The report above shows only once the test returns; if it stays
		// stuck, exit in time to say so ourselves before -test.timeout.
		after := hardExitAfter
		if !deadline.IsZero() {
			after = min(after, time.Until(deadline)-deadlineMargin/2)
		}
		hard = time.AfterFunc(max(after, 0), func() {
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				return
			}
			killChildren("")
			fmt.Fprintf(os.Stderr, "proctest: watchdog: %s still running after %v although its children were killed; exiting\n%s", name, d+after, stacks())
			os.Exit(2)
		})
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		fire.Stop()
		if hard != nil {
			hard.Stop()
		}
	})
}

// stacks returns every goroutine's stack, growing the buffer until it fits.
func stacks() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
