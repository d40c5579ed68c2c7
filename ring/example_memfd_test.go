package ring_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/shmring/shmring/ring"
)

// A ring with no name: a memfd, sealed against resizing, handed to another
// process over a unix socket. Both ends run in one process here; in real
// use the receiving end is another program that dials the socket (or that
// inherits r.File() through exec.Cmd.ExtraFiles and calls ring.OpenFile).
func ExampleSendRing() {
	dir, err := os.MkdirTemp("", "example-memfd-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "rings"), Net: "unix"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	// The creator: nothing appears in /dev/shm; "cam0" only labels the ring.
	r, err := ring.Create("cam0", ring.Options{Kind: ring.SPSC, SlotSize: 64 << 10, Slots: 64, Memfd: true})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	go func() {
		conn, err := l.AcceptUnix()
		if err != nil {
			log.Fatal(err)
		}
		defer conn.Close()
		if err := ring.SendRing(conn, r); err != nil { // SCM_RIGHTS
			log.Fatal(err)
		}
	}()

	// The other process: receive the descriptor and map the ring,
	// validated as ring.Open validates a file.
	conn, err := net.DialUnix("unix", nil, l.Addr().(*net.UnixAddr))
	if err != nil {
		log.Fatal(err)
	}
	peer, err := ring.RecvRing(conn)
	conn.Close()
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Close()
	fmt.Printf("received %s, path %q\n", peer.Name(), peer.Path())

	ctx := context.Background()
	p, err := r.Producer()
	if err != nil {
		log.Fatal(err)
	}
	c, err := peer.Consumer()
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Send(ctx, []byte("frame 1")); err != nil {
		log.Fatal(err)
	}
	msg, err := c.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msg))
	c.Release()
	// Output:
	// received cam0, path ""
	// frame 1
}
