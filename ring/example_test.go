package ring_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/shmring/shmring/ring"
)

// A producer and a consumer exchanging messages through a ring file. Here
// both live in one process for the example; normally the consumer runs
// Open in another process.
func Example() {
	name := fmt.Sprintf("example-quotes-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 256, Slots: 1 << 10})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()

	p, err := r.Producer()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, quote := range []string{"ACME 101.5", "INIT 42.25"} {
		buf, err := p.Claim(ctx) // the slot itself, in shared memory
		if err != nil {
			log.Fatal(err)
		}
		n := copy(buf, quote)
		if err := p.Commit(n); err != nil { // one store publishes it
			log.Fatal(err)
		}
	}
	p.Close() // end of stream: the consumer drains, then gets ErrClosed

	// in the consumer process
	peer, err := ring.Open(name)
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Close()
	c, err := peer.Consumer()
	if err != nil {
		log.Fatal(err)
	}
	for {
		msg, err := c.Receive(ctx) // the message in place, valid until Release
		if errors.Is(err, ring.ErrClosed) {
			break // end of stream
		}
		if err != nil {
			log.Fatal(err) // ErrPeerDead, ErrCorrupt, a context's error: nothing to release
		}
		fmt.Println(string(msg))
		c.Release()
	}
	// Output:
	// ACME 101.5
	// INIT 42.25
}

// Copying helpers: Send copies a message in, Recv copies one out.
func ExampleProducer_Send() {
	name := fmt.Sprintf("example-send-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()
	p, _ := r.Producer()
	c, _ := r.Consumer()

	ctx := context.Background()
	if err := p.Send(ctx, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, r.SlotSize())
	n, err := c.Recv(ctx, buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(buf[:n]))
	// Output: hello
}

// Batches publish many messages with one store and release many with one.
func ExampleProducer_ClaimBatch() {
	name := fmt.Sprintf("example-batch-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()
	p, _ := r.Producer()
	c, _ := r.Consumer()
	ctx := context.Background()

	b, err := p.ClaimBatch(ctx, 3)
	if err != nil {
		log.Fatal(err)
	}
	for i := range b.Len() {
		b.SetLen(i, copy(b.Slot(i), fmt.Sprintf("tick %d", i)))
	}
	if err := p.CommitBatch(b.Len()); err != nil {
		log.Fatal(err)
	}

	ms, err := c.ReceiveBatch(ctx, 16)
	if err != nil {
		log.Fatal(err)
	}
	for i := range ms.Len() {
		m, _ := ms.At(i)
		fmt.Println(string(m))
	}
	c.Release()
	// Output:
	// tick 0
	// tick 1
	// tick 2
}
