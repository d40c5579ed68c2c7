package futex_test

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shmring/shmring/futex"
)

// The protocol of the package doc, between two goroutines for brevity: in
// real use the word and the waiter count live in a shared mapping and the
// two sides are processes.
func ExampleWait() {
	var word, waiters uint32
	done := make(chan struct{})
	go func() { // the sleeper: wants word != 0
		defer close(done)
		for atomic.LoadUint32(&word) == 0 {
			atomic.AddUint32(&waiters, 1) // announce, then re-check
			if atomic.LoadUint32(&word) == 0 {
				_ = futex.Wait(&word, 0, time.Second) // nil, ErrValueChanged or ErrTimeout: look again
			}
			atomic.AddUint32(&waiters, ^uint32(0))
		}
		fmt.Println("sleeper saw", atomic.LoadUint32(&word))
	}()

	time.Sleep(10 * time.Millisecond)
	atomic.StoreUint32(&word, 7) // publish first, then look for sleepers
	if atomic.LoadUint32(&waiters) != 0 {
		_, _ = futex.Wake(&word, 1)
	}
	<-done
	// Output: sleeper saw 7
}
