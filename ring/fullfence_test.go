package ring

// Options.FullFence: a process whose handles publish with full fences never
// registers for membarrier, so no sleeper anywhere interrupts it, and its
// roles do not ask their peers for a barrier.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

func init() { proctest.Register("fullfence-stream", childFullFenceStream) }

func TestFullFenceKeepsTheProcessOutOfMembarrier(t *testing.T) {
	for _, kind := range []Kind{SPSC, MPMC, Broadcast} {
		for _, full := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/FullFence=%v", kind, full), func(t *testing.T) {
				proctest.Watchdog(t, hangBound)
				name := uniqueName(t)
				t.Cleanup(func() { Remove(name) })
				c := proctest.Start(t, "fullfence-stream", name, fmt.Sprint(uint32(kind)), fmt.Sprint(full))
				line, err := c.ReadLine()
				if err != nil {
					t.Fatalf("child: %v\n%s", err, c.Stderr())
				}
				if err := c.Wait(); err != nil {
					t.Fatalf("child: %v\n%s", err, c.Stderr())
				}
				var registered, flagged bool
				if _, err := fmt.Sscanf(line, "registered=%t flagged=%t", &registered, &flagged); err != nil {
					t.Fatalf("child said %q: %v", line, err)
				}
				if !full && !registered {
					t.Skip("this machine offers no membarrier (or no release-store path): nothing registers either way")
				}
				// Only an SPSC producer advertises release stores: MPMC
				// roles publish by compare-and-swap and a broadcast
				// producer's cursor store is a full fence anyway (its
				// readers' release stores are what a gated producer
				// fences, and FullFence makes those full fences too).
				advertises := kind == SPSC
				if registered == full || advertises && flagged == full || !advertises && flagged {
					t.Fatalf("FullFence=%v: the child's process registered=%v and its roles advertised release stores=%v, want %v and %v",
						full, registered, flagged, !full, !full)
				}
			})
		}
	}
}

// childFullFenceStream creates a ring, streams through it with a producer
// and a consumer (or reader) of its own, and reports whether the process
// registered for membarrier and whether the producer's flags advertise
// release stores.
func childFullFenceStream() int {
	a := childArgs(3)
	kind := Kind(mustUint(a[1]))
	o := Options{Kind: kind, SlotSize: 32, Slots: 16, FullFence: a[2] == "true"}
	r, err := Create(a[0], o)
	if err != nil {
		return childFail("create: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("producer: %v", err)
	}
	var recv func(context.Context, []byte) (int, error)
	if kind == Broadcast {
		rd, err := r.Reader(ReaderOptions{Policy: Lossless})
		if err != nil {
			return childFail("reader: %v", err)
		}
		recv = rd.Recv
	} else {
		c, err := r.Consumer()
		if err != nil {
			return childFail("consumer: %v", err)
		}
		recv = c.Recv
	}
	ctx := context.Background()
	buf := make([]byte, 32)
	for i := range 100 {
		if err := p.Send(ctx, []byte(strings.Repeat("x", i%32))); err != nil {
			return childFail("send: %v", err)
		}
		if _, err := recv(ctx, buf); err != nil {
			return childFail("recv: %v", err)
		}
	}
	flagged := false
	switch kind {
	case SPSC:
		flagged = r.word32(layout.ProducerFlagsOffset).Load()&layout.FlagReleaseStores != 0
	case Broadcast:
		flagged = r.word32(layout.BcastProducerFlagsOffset).Load()&layout.FlagReleaseStores != 0
	}
	if a[2] != "true" && kind == SPSC && !flagged && fence.Registered() {
		return childFail("registered, yet the producer does not advertise its release stores")
	}
	fmt.Printf("registered=%t flagged=%t\n", fence.Registered(), flagged)
	return 0
}
