package ring

// Broadcast messages of 1 MiB and more to lossy reader processes. Go's
// memmove copies such messages with non-temporal stores on amd64
// (runtime/memmove_amd64.s, from 1 MiB), which x86 lets pass the ordinary
// store of the seqlock's "being written" mark (Intel SDM vol. 3A §8.2.2):
// unless the mark is a locked store (fence.StoreBeforeCopy64), a reader
// could copy new payload bytes, still load the old seq and accept a torn
// message. Here readers on a four-slot ring are overrun all the time,
// mid-copy too, and check every byte of every message they accept.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/proctest"
)

func init() {
	proctest.Register("bcast-bigmsg-reader", childBigMsgReader)
}

const (
	bigMsgMin   = 1 << 20 // the shortest message: memmove's non-temporal threshold
	bigMsgSlots = 4       // a small ring: readers are lapped often
	bigMsgPause = 8       // a reader waits to be lapped after every bigMsgPause messages
	bigMsgHead  = 4 << 10 // the "receive" reader checks these first bytes last
)

// bigMsgLen is the length of message seq in a ring of slot bytes: from
// bigMsgMin to slot, varied so that copies end at different alignments.
func bigMsgLen(seq uint64, slot int) int {
	return slot - int(seq*7919%uint64(slot-bigMsgMin+1))
}

// TestBroadcastBigMessagesLossy streams messages of 1 to 4 MiB through a
// four-slot broadcast ring to two lossy reader processes, one copying
// (Recv), one reading in place (Receive, then Release) and checking the
// head of each message last, where the producer's first non-temporal
// stores land right after the mark. Every message a reader accepts must
// be, byte for byte, the one published at its position; each reader must
// have been lapped (*LapError), and delivered + missed must count every
// position.
func TestBroadcastBigMessagesLossy(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	n := uint64(160)
	slots := []int{1 << 20, 2<<20 + 4093, 4 << 20}
	if raceEnabled {
		// The race detector slows the codec's stores tenfold and cannot see
		// the mapping anyway: enough to run the code, not to stress it.
		n = bigMsgPause + bigMsgSlots + 4 // a lap is still certain
		slots = slots[:2]
	}
	for _, slot := range slots {
		t.Run(fmt.Sprintf("slot=%d", slot), func(t *testing.T) {
			r := newTestRing(t, Options{Kind: Broadcast, SlotSize: slot, Slots: bigMsgSlots, MaxReaders: 2})
			modes := []string{"recv", "receive"}
			var children []*proctest.Child
			for _, mode := range modes {
				c := proctest.Start(t, "bcast-bigmsg-reader", r.Name(), mode, strconv.FormatUint(n, 10))
				c.Expect("ready")
				children = append(children, c)
			}
			p := mustProducer(t, r)
			ctx, cancel := context.WithTimeout(context.Background(), hangBound)
			defer cancel()
			buf := make([]byte, slot)
			for seq := range n {
				m := buf[:bigMsgLen(seq, slot)]
				codec.Put(m, codec.Header{Seq: seq})
				if err := p.Send(ctx, m); err != nil {
					t.Fatalf("Send %d: %v", seq, err)
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			for i, c := range children {
				line, err := c.ReadLine()
				if err != nil {
					t.Fatalf("%s reader: %v (%v)", modes[i], err, c.Wait())
				}
				if err := c.Wait(); err != nil {
					t.Fatalf("%s reader: %v", modes[i], err)
				}
				var res bigMsgResult
				if _, err := fmt.Sscanf(line, "delivered %d missed %d laps %d discarded %d", &res.delivered, &res.missed, &res.laps, &res.discarded); err != nil {
					t.Fatalf("%s reader said %q: %v", modes[i], line, err)
				}
				t.Logf("%s reader: %+v", modes[i], res)
				if res.delivered+res.missed != n {
					t.Errorf("%s reader: delivered %d + missed %d != %d published", modes[i], res.delivered, res.missed, n)
				}
				if res.delivered == 0 || res.laps == 0 {
					t.Errorf("%s reader: delivered %d, lapped %d times; want both > 0", modes[i], res.delivered, res.laps)
				}
			}
		})
	}
}

type bigMsgResult struct{ delivered, missed, laps, discarded uint64 }

// childBigMsgReader reads a ring of bigMsgTest messages as a lossy reader
// until it closes and prints its bigMsgResult. Arguments: ring, mode
// (recv|receive), messages published.
func childBigMsgReader() int {
	a := childArgs(3)
	name, mode, n := a[0], a[1], mustUint(a[2])
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	rd, err := r.Reader(ReaderOptions{Policy: Lossy, Start: Oldest})
	if err != nil {
		return childFail("Reader: %v", err)
	}
	fmt.Println("ready")
	res, err := readBigMsgs(rd, mode, n, r.SlotSize(), uint64(r.Slots()))
	if err != nil {
		return childFail("%s reader: %v (so far %+v)", mode, err, res)
	}
	fmt.Printf("delivered %d missed %d laps %d discarded %d\n", res.delivered, res.missed, res.laps, res.discarded)
	return 0
}

// readBigMsgs receives until ErrClosed, checking every accepted message
// against the one published at its position, and every bigMsgPause
// messages waits (without a clock) until the producer is more than a lap
// ahead, so that the next call is surely lapped.
func readBigMsgs(rd *Reader, mode string, n uint64, slot int, slots uint64) (bigMsgResult, error) {
	var res bigMsgResult
	ctx := context.Background()
	next := uint64(0) // the position expected next
	buf := make([]byte, slot)
	want := make([]byte, slot)
	for {
		var err error
		switch mode {
		case "recv":
			var k int
			if k, err = rd.Recv(ctx, buf); err == nil {
				if k != bigMsgLen(next, slot) {
					return res, fmt.Errorf("message %d: %d bytes, want %d", next, k, bigMsgLen(next, slot))
				}
				if err := codec.Verify(buf[:k], codec.Header{Seq: next}); err != nil {
					return res, fmt.Errorf("Recv accepted a torn message: %w", err)
				}
			}
		case "receive":
			var m []byte
			if m, err = rd.Receive(ctx); err == nil {
				// Check in place while the producer may be overwriting it,
				// the head last; only Release says whether it counts.
				w := want[:bigMsgLen(next, slot)]
				codec.Put(w, codec.Header{Seq: next})
				same := len(m) == len(w) && bytes.Equal(m[bigMsgHead:], w[bigMsgHead:]) && bytes.Equal(m[:bigMsgHead], w[:bigMsgHead])
				if err = rd.Release(); err == nil && !same {
					return res, fmt.Errorf("Release accepted message %d (%d bytes), which is not the one published: %v",
						next, len(m), codec.Verify(m, codec.Header{Seq: next}))
				}
				if err != nil && !same {
					res.discarded++ // overwritten while read, and reported so
				}
			}
		default:
			return res, fmt.Errorf("unknown mode %q", mode)
		}
		var lap *LapError
		switch {
		case err == nil:
			next++
			res.delivered++
			if res.delivered%bigMsgPause == 0 {
				for i := 0; i < 1<<24 && next+rd.Lag() < min(next+slots+2, n); i++ {
					runtime.Gosched()
				}
			}
		case errors.As(err, &lap):
			if lap.Missed == 0 {
				return res, fmt.Errorf("a lap that missed nothing: %v", err)
			}
			next += lap.Missed
			res.missed += lap.Missed
			res.laps++
		case errors.Is(err, ErrClosed):
			if next != n {
				return res, fmt.Errorf("closed at position %d, want %d", next, n)
			}
			return res, nil
		default:
			return res, err
		}
	}
}
