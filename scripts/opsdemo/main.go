// Command opsdemo streams through three rings in DIR until it is killed, so
// that README's "Operating shmring" can show ringctl on live rings: an SPSC
// ring of quotes (every 16th message stamped), an MPMC ring of jobs, and a
// broadcast ring of ticks with a lossless and a lossy reader that reads
// slowly (every 64th message stamped). About 40 000 messages a second each.
//
//	go run ./scripts/opsdemo /tmp/demo &
//	ringctl ls /tmp/demo; ringctl stat /tmp/demo/ticks --watch
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shmring/shmring/ring"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: opsdemo DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	quotes := create(filepath.Join(dir, "quotes"), ring.Options{Kind: ring.SPSC, SlotSize: 256, Slots: 4096, Telemetry: ring.Telemetry{SampleEvery: 16}})
	jobs := create(filepath.Join(dir, "jobs"), ring.Options{Kind: ring.MPMC, SlotSize: 64, Slots: 256, MaxProducers: 2, MaxConsumers: 2})
	ticks := create(filepath.Join(dir, "ticks"), ring.Options{Kind: ring.Broadcast, SlotSize: 128, Slots: 1024, MaxReaders: 4, Telemetry: ring.Telemetry{SampleEvery: 64}})

	ctx := context.Background()
	for _, r := range []*ring.Ring{quotes, jobs} {
		c, err := r.Consumer()
		if err != nil {
			fail(err)
		}
		go drain(func(b []byte) error { _, err := c.Recv(ctx, b); return err }, 0)
	}
	for _, pol := range []ring.Policy{ring.Lossless, ring.Lossy} {
		rd, err := ticks.Reader(ring.ReaderOptions{Policy: pol})
		if err != nil {
			fail(err)
		}
		pause := time.Duration(0)
		if pol == ring.Lossy {
			pause = time.Millisecond // a slow reader, lapped now and then
		}
		go drain(func(b []byte) error { _, err := rd.Recv(ctx, b); return err }, pause)
	}
	var ps []*ring.Producer
	for _, r := range []*ring.Ring{quotes, jobs, ticks} {
		p, err := r.Producer()
		if err != nil {
			fail(err)
		}
		ps = append(ps, p)
	}
	msg := make([]byte, 48)
	tick := time.NewTicker(time.Millisecond)
	for range tick.C {
		for range 40 {
			for _, p := range ps {
				if err := p.Send(ctx, msg); err != nil {
					fail(err)
				}
			}
		}
	}
}

func create(path string, o ring.Options) *ring.Ring {
	r, err := ring.Create(path, o)
	if err != nil {
		fail(err)
	}
	return r
}

// drain receives until the ring fails; a lossy reader's laps are not
// failures.
func drain(recv func([]byte) error, pause time.Duration) {
	buf := make([]byte, 256)
	for i := 0; ; i++ {
		if err := recv(buf); err != nil && !errors.Is(err, ring.ErrLapped) {
			fail(err)
		}
		if pause > 0 && i%16 == 0 {
			time.Sleep(pause)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "opsdemo:", err)
	os.Exit(1)
}
