package ring_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/shmring/shmring/ring"
)

// Reset is the way back for a ring whose cursors were wrecked, so that
// taking a role fails with ErrCorrupt (two goroutines sharing one Producer
// can do that). It refuses while any role is held, and it drops every
// message the ring holds.
func ExampleRing_Reset() {
	name := fmt.Sprintf("example-reset-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()

	p, err := r.Producer()
	if err != nil {
		log.Fatal(err)
	}
	if err := p.TrySend([]byte("dropped by the reset")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("while the producer is held:", errors.Is(r.Reset(), ring.ErrBusy))
	p.Close()

	err = ring.Reset(name) // or r.Reset(): every role is free now
	if err != nil {
		log.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.TryRecv(make([]byte, r.SlotSize()))
	fmt.Println("after the reset:", err)
	// Output:
	// while the producer is held: true
	// after the reset: ring: empty
}
