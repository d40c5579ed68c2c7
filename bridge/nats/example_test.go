package natsbridge_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/nats-io/nats.go"
	natsbridge "github.com/shmring/shmring/bridge/nats"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// A ring carried through NATS into another ring. Here everything lives in
// one process, with an embedded server; normally Out runs on the
// producer's machine and In on the readers'.
func Example() {
	srv, err := natstest.Run(natstest.Config{}) // a NATS server for the example
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	quotes := fmt.Sprintf("example-quotes-%d", os.Getpid())
	copied := fmt.Sprintf("example-copied-%d", os.Getpid())
	src, err := ring.Create(quotes, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(quotes)
	defer src.Close()
	dst, err := ring.Create(copied, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	if err != nil {
		log.Fatal(err)
	}
	defer ring.Remove(copied)
	defer dst.Close()

	// On the readers' machine: subject → ring.
	ncIn, err := nats.Connect(srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer ncIn.Close()
	in, err := natsbridge.NewIn(ncIn, dst, natsbridge.InOptions{Subject: "md.quotes"})
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	ctx, stop := context.WithCancel(context.Background())
	inDone := make(chan error, 1)
	go func() { inDone <- in.Run(ctx) }()
	<-in.Ready()

	// On the producer's machine: ring → subject.
	ncOut, err := nats.Connect(srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer ncOut.Close()
	out, err := natsbridge.NewOut(ncOut, src, natsbridge.OutOptions{Subject: "md.quotes", SeqHeader: true})
	if err != nil {
		log.Fatal(err)
	}
	defer out.Close()
	outDone := make(chan error, 1)
	go func() { outDone <- out.Run(ctx) }()

	p, _ := src.Producer()
	for _, q := range []string{"ACME 101.5", "INIT 42.25"} {
		p.Send(ctx, []byte(q))
	}
	p.Close() // end of stream: Out returns once it has delivered everything

	c, _ := dst.Consumer()
	buf := make([]byte, 64)
	for range 2 {
		n, err := c.Recv(ctx, buf)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(buf[:n]))
	}
	fmt.Println("out:", <-outDone)
	stop()
	fmt.Println("in:", <-inDone)
	fmt.Println(in.Counters().Messages, "messages,", in.Counters().Gaps, "gaps")
	// Output:
	// ACME 101.5
	// INIT 42.25
	// out: <nil>
	// in: <nil>
	// 2 messages, 0 gaps
}
