//go:build linux

package ring

// A peer truncates the ring's file while a producer and its consumers or
// readers stream in other processes. Every process must live, each must get
// an error of the ErrCorrupt family (ErrTruncated) from the call that met
// the truncation, no message damaged by it may come out of a copying
// receive as whole, and a fresh Open of the file must say why it refuses.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

func init() {
	proctest.Register("trunc-produce", childTruncProduce)
	proctest.Register("trunc-consume", childTruncConsume)
}

// truncSlots and truncSlotSize: a ring of several pages, so that the cut
// points below fall in different pages of the slot area.
const (
	truncSlots    = 64
	truncSlotSize = 200
)

func TestTruncationUnderLiveStreamsIsAnErrorInEveryProcess(t *testing.T) {
	if raceEnabled {
		// Under the race detector every atomic operation runs in its C
		// runtime on the system stack, where a fault cannot become a
		// panic: a child cut off inside an atomic load dies with "unexpected
		// return pc for runtime.sigpanic" (guard.go says so for users).
		// The same test runs without -race in every CI run.
		t.Skip("a fault inside an atomic operation is fatal under -race (see guard.go); this runs in the normal build")
	}
	kinds := []struct {
		kind    Kind
		readers []string // the consuming children: "consumer", "lossless" or "lossy"
		writers int
	}{
		{SPSC, []string{"consumer"}, 1},
		{MPMC, []string{"consumer", "consumer"}, 2},
		{MPSC, []string{"consumer"}, 2},
		{Broadcast, []string{"lossless", "lossy"}, 1},
	}
	cuts := []struct {
		name string
		at   func(h layout.Header) int64
	}{
		{"to zero", func(layout.Header) int64 { return 0 }},
		{"to half", func(h layout.Header) int64 { return int64(h.FileSize / 2) }},
		{"inside a middle slot", func(h layout.Header) int64 {
			return int64(h.SlotOffset(h.SlotCount/2) + uint64(h.SlotHeaderSize) + 40)
		}},
		{"inside the last slot", func(h layout.Header) int64 {
			return int64(h.SlotOffset(h.SlotCount-1) + uint64(h.SlotHeaderSize) + 40)
		}},
	}
	for _, k := range kinds {
		for _, cut := range cuts {
			t.Run(fmt.Sprintf("%v/%s", k.kind, strings.ReplaceAll(cut.name, " ", "_")), func(t *testing.T) {
				proctest.Watchdog(t, hangBound)
				o := Options{Kind: k.kind, SlotSize: truncSlotSize, Slots: truncSlots}
				if k.kind == Broadcast {
					o.MaxReaders = 4
				}
				r := newTestRing(t, o)
				h := r.Header()
				var children []*proctest.Child
				for i, mode := range k.readers {
					children = append(children, proctest.Start(t, "trunc-consume", r.Name(), mode, strconv.Itoa(i)))
				}
				for i := 0; i < k.writers; i++ {
					children = append(children, proctest.Start(t, "trunc-produce", r.Name(), strconv.Itoa(i)))
				}
				for _, c := range children {
					c.Expect("streaming")
				}
				at := cut.at(h)
				if err := os.Truncate(r.Path(), at); err != nil {
					t.Fatalf("truncate to %d: %v", at, err)
				}
				for _, c := range children {
					line, err := c.ReadLine()
					if err != nil {
						t.Fatalf("child %d: %v\n%s", c.Pid(), err, c.Stderr())
					}
					if !strings.HasPrefix(line, "stopped ") {
						t.Fatalf("child %d said %q, want its stop", c.Pid(), line)
					}
					t.Logf("child %d: %s", c.Pid(), line)
				}
				for _, c := range children {
					c.CloseStdin()
					if err := c.Wait(); err != nil {
						t.Fatalf("child %d: %v\n%s", c.Pid(), err, c.Stderr())
					}
				}
				_, err := OpenWith(r.Name(), OpenOptions{Timeout: 50 * time.Millisecond})
				if err == nil {
					t.Fatalf("Open of the file truncated to %d of %d bytes succeeded", at, h.FileSize)
				}
				if at == 0 && !errors.Is(err, ErrNotReady) || at > 0 && !errors.Is(err, ErrTruncated) {
					t.Fatalf("Open of the file truncated to %d of %d bytes = %v, want ErrTruncated (ErrNotReady when empty)", at, h.FileSize, err)
				}
				t.Logf("fresh Open: %v", err)
			})
		}
	}
}

// truncErr is what a child accepts as the end of its stream: the ring
// reported the truncation (ErrTruncated, or ErrCorrupt for a zeroed word
// met before the end mark was checked).
func truncErr(err error) bool { return errors.Is(err, ErrCorrupt) }

// truncStop reports the child's stop, then holds the process (and so every
// role it took) until the parent closes stdin: no peer dies while the others
// still look for their error. Then closing the shrunk ring must work.
func truncStop(r *Ring, what string, n uint64, err error) int {
	fmt.Printf("stopped %s=%d err=%v\n", what, n, err)
	if !truncErr(err) {
		return childFail("%s stopped by %v, want an error matching ErrCorrupt", what, err)
	}
	readStdinLine()
	if err := r.Close(); err != nil {
		return childFail("Close of the shrunk ring: %v", err)
	}
	return 0
}

// childTruncProduce sends numbered messages, each filling its slot, until
// a call fails. Producer id goes into the sequence's top byte so that the
// messages of an MPMC ring's producers stay distinct.
func childTruncProduce() int {
	a := childArgs(2)
	r, err := Open(a[0])
	if err != nil {
		return childFail("open: %v", err)
	}
	p, err := r.Producer()
	if err != nil {
		return childFail("producer: %v", err)
	}
	id := mustUint(a[1])
	msg := make([]byte, truncSlotSize)
	ctx := context.Background()
	var n uint64
	for ; ; n++ {
		encodeMessage(msg, id<<56|n)
		if err := p.Send(ctx, msg); err != nil {
			return truncStop(r, "sent", n, err)
		}
		if n == 4*truncSlots {
			fmt.Println("streaming")
		}
	}
}

// childTruncConsume receives with the copying calls (a slice received in
// place is the caller's risk) and checks every message it is given.
func childTruncConsume() int {
	a := childArgs(3)
	r, err := Open(a[0])
	if err != nil {
		return childFail("open: %v", err)
	}
	var recv func(ctx context.Context, buf []byte) (int, error)
	switch a[1] {
	case "consumer":
		c, err := r.Consumer()
		if err != nil {
			return childFail("consumer: %v", err)
		}
		recv = c.Recv
	case "lossless", "lossy":
		policy := Lossless
		if a[1] == "lossy" {
			policy = Lossy
		}
		rd, err := r.Reader(ReaderOptions{Policy: policy})
		if err != nil {
			return childFail("reader: %v", err)
		}
		recv = rd.Recv
	}
	buf := make([]byte, truncSlotSize)
	ctx := context.Background()
	var n uint64
	said := false
	for ; ; n++ {
		k, err := recv(ctx, buf)
		var lap *LapError
		if errors.As(err, &lap) {
			continue // counted in n: a lossy reader may lap at any n, so "streaming" waits for n to pass the mark, not to hit it
		}
		if err != nil {
			return truncStop(r, "received", n, err)
		}
		seq := binary.LittleEndian.Uint64(buf)
		if err := checkMessage(buf[:k], seq, truncSlotSize); err != nil {
			fmt.Printf("stopped received=%d err=%v\n", n, err)
			return childFail("a damaged message was delivered as whole after %d: %v", n, err)
		}
		if n >= 4*truncSlots && !said {
			fmt.Println("streaming")
			said = true
		}
	}
}
