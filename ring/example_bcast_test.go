package ring_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/shmring/shmring/ring"
)

// A feed broadcast to two readers: a lossless one, which the producer waits
// for, and a lossy one, which falls behind and is told how many quotes it
// missed. Here all three live in one process; normally each reader is a
// process of its own that calls ring.Open.
func Example_broadcast() {
	name := fmt.Sprintf("example-ticks-%d", os.Getpid())
	r, err := ring.Create(name, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 4, MaxReaders: 8})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()

	ctx := context.Background()
	audit, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossless, Start: ring.Oldest})
	if err != nil {
		log.Fatal(err)
	}
	screen, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossy, Start: ring.Oldest})
	if err != nil {
		log.Fatal(err)
	}
	p, err := r.Producer()
	if err != nil {
		log.Fatal(err)
	}

	// Eight quotes through four slots: the producer runs ahead of the
	// lossy screen, but never more than a ring ahead of the audit reader,
	// which takes each quote as it comes.
	for i := range 8 {
		if err := p.Send(ctx, fmt.Appendf(nil, "ACME %d.25", 100+i)); err != nil {
			log.Fatal(err)
		}
		msg, err := audit.Receive(ctx) // in place, valid until Release
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("audit:  %s\n", msg)
		audit.Release()
	}
	p.Close()

	buf := make([]byte, 64)
	for {
		n, err := screen.Recv(ctx, buf) // a validated copy: never torn
		var lap *ring.LapError
		switch {
		case errors.As(err, &lap):
			fmt.Printf("screen: lapped, missed %d\n", lap.Missed)
			continue
		case errors.Is(err, ring.ErrClosed):
			return
		case err != nil:
			log.Fatal(err)
		}
		fmt.Printf("screen: %s\n", buf[:n])
	}
	// Output:
	// audit:  ACME 100.25
	// audit:  ACME 101.25
	// audit:  ACME 102.25
	// audit:  ACME 103.25
	// audit:  ACME 104.25
	// audit:  ACME 105.25
	// audit:  ACME 106.25
	// audit:  ACME 107.25
	// screen: lapped, missed 5
	// screen: ACME 105.25
	// screen: ACME 106.25
	// screen: ACME 107.25
}
