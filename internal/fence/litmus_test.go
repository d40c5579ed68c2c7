//go:build !race

package fence

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestStore64MessagePassing is the message-passing litmus test run on the
// hardware: a writer stores a word of a small ring with a plain store,
// then publishes its number with a release store; a reader that loads the
// number must find that word written (or a later lap's). It can only
// catch a reordering that happens to show up, a complement to
// TestPublishOrder (amd64), not a proof.
func TestStore64MessagePassing(t *testing.T) {
	release := Register()
	const n = 1 << 20
	var ring [16]uint64
	var cursor atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(1); i <= n; i++ {
			ring[i%uint64(len(ring))] = i
			Store64(&cursor, i, release)
		}
	}()
	bad := 0
	for last := uint64(0); last < n; {
		c := cursor.Load()
		if c == last {
			continue
		}
		last = c
		// The word may already hold a later lap's number, never an older one.
		if w := atomic.LoadUint64(&ring[c%uint64(len(ring))]); w < c {
			bad++
			if bad < 5 {
				t.Errorf("cursor %d published, its word still holds %d", c, w)
			}
		}
	}
	wg.Wait()
	if bad > 0 {
		t.Errorf("%d of the loads saw an unpublished word", bad)
	}
}
