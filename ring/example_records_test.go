package ring_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/shmring/shmring/ring"
)

// A record ring carries messages of any length up to MaxMessage, each
// taking only its own bytes (plus a 16-byte header) of the ring: here
// frames of different sizes through a 64 KiB ring. The producer writes a
// frame straight into the ring with ClaimN; the consumer reads it in place.
// Normally the consumer is another process that calls ring.Open.
func Example_records() {
	name := fmt.Sprintf("example-frames-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, Records: true, Capacity: 64 << 10, MaxMessage: 16 << 10})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()
	fmt.Println("capacity", r.Capacity(), "max message", r.MaxMessage())

	ctx := context.Background()
	p, err := r.Producer()
	if err != nil {
		log.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		log.Fatal(err)
	}

	for i, size := range []int{12, 0, 9000, 300} {
		frame, err := p.ClaimN(ctx, size) // exactly size contiguous bytes of the ring
		if err != nil {
			log.Fatal(err)
		}
		for j := range frame { // write the frame in place
			frame[j] = byte(i)
		}
		if err := p.Commit(size); err != nil { // or Commit(k) with k <= size
			log.Fatal(err)
		}
	}
	if err := p.Send(ctx, []byte("end of clip")); err != nil { // the copying call works too
		log.Fatal(err)
	}
	p.Close()

	for {
		msg, err := c.Receive(ctx) // the record in place, valid until Release
		if err != nil {
			fmt.Println(err)
			break
		}
		if len(msg) > 0 && msg[0] == 'e' {
			fmt.Printf("%q\n", msg)
		} else {
			fmt.Println("frame of", len(msg), "bytes")
		}
		c.Release()
	}
	// Output:
	// capacity 65536 max message 16384
	// frame of 12 bytes
	// frame of 0 bytes
	// frame of 9000 bytes
	// frame of 300 bytes
	// "end of clip"
	// ring: closed
}
