package ring_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/shmring/shmring/ring"
)

// A ring that measures its own latency: one message in 64 carries a
// stamp, and the consumer's histogram of commit-to-receive times lives in
// the ring file, beside every role's counters, where `ringctl stat` and
// package ringprom read them from any process.
func ExampleTelemetry() {
	name := fmt.Sprintf("example-telemetry-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1 << 10,
		Telemetry: ring.Telemetry{SampleEvery: 64}})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()
	p, _ := r.Producer()
	c, _ := r.Consumer()
	ctx := context.Background()
	buf := make([]byte, 64)
	for range 500 {
		if err := p.Send(ctx, []byte("tick")); err != nil {
			log.Fatal(err)
		}
		if _, err := c.Recv(ctx, buf); err != nil {
			log.Fatal(err)
		}
	}
	// Stats also stores the figures in the file, so that a tool reading it
	// now sees exactly these.
	fmt.Println("sent", p.Stats().Messages, "received", c.Stats().Messages)
	// Output: sent 500 received 500
}
