package ring_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sort"
	"sync"

	"github.com/shmring/shmring/ring"
)

// A work queue: two producers and two consumers on one MPMC ring. Each
// message reaches exactly one consumer. Here all live in one process; each
// could be another process that Opens the ring by name. When the last
// producer closes, the consumers drain the ring and get ErrClosed.
func Example_mpmc() {
	name := fmt.Sprintf("example-jobs-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.MPMC, SlotSize: 64, Slots: 16, MaxProducers: 4, MaxConsumers: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()
	ctx := context.Background()

	var mu sync.Mutex
	var done []string
	var wg sync.WaitGroup
	for range 2 {
		c, err := r.Consumer() // up to MaxConsumers, across all processes
		if err != nil {
			log.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, r.SlotSize())
			for {
				n, err := c.Recv(ctx, buf)
				if errors.Is(err, ring.ErrClosed) {
					return
				}
				if err != nil {
					log.Fatal(err)
				}
				mu.Lock()
				done = append(done, string(buf[:n]))
				mu.Unlock()
			}
		}()
	}
	var pw sync.WaitGroup
	for i := range 2 {
		p, err := r.Producer()
		if err != nil {
			log.Fatal(err)
		}
		pw.Add(1)
		go func() {
			defer pw.Done()
			defer p.Close() // the last producer to close ends the stream
			for j := range 3 {
				if err := p.Send(ctx, fmt.Appendf(nil, "job %d.%d", i, j)); err != nil {
					log.Fatal(err)
				}
			}
		}()
	}
	pw.Wait()
	wg.Wait()
	sort.Strings(done)
	for _, d := range done {
		fmt.Println(d)
	}
	// Output:
	// job 0.0
	// job 0.1
	// job 0.2
	// job 1.0
	// job 1.1
	// job 1.2
}
