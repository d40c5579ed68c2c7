//go:build linux

package ring

// Exactly-once across processes on MPMC and MPSC rings (issue 4,
// acceptance 1): producer processes and consumer processes on one ring,
// every message carrying its producer, its place in that producer's stream
// and a CRC-32C. Each consumer checks every message it gets and keeps a
// bitmap of them per producer; the parent proves from the bitmaps that the
// consumers between them got every message once.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

func init() {
	proctest.Register("xp-producer", childXPProducer)
	proctest.Register("xp-consumer", childXPConsumer)
}

// xpSlotSize keeps messages small (16..64 bytes) so that the test measures
// the ring's coordination, not memcpy and CRC.
const xpSlotSize = 64

// xpMaxBatch bounds the batches both sides ask for.
const xpMaxBatch = 16

// The producer's calls, drawn at random for every step; the blocking ones
// come twice as often. A Try… call that finds the ring full falls back to
// its blocking twin rather than spinning: six processes share two cores.
var xpProducerCalls = []string{"send", "send", "claim", "claim", "claimbatch", "sendbatch", "trysend", "tryclaim"}

// xpSender writes messages 0..n-1 of one producer's stream.
type xpSender struct {
	p       *Producer
	stream  uint64
	lens    lengths
	ops     *rand.Rand
	k, n    uint64
	scratch []byte
	bufs    [][]byte
	batch   [][]byte
	aborted uint64 // claims aborted and batch slots dropped: the consumers skip them
}

func newXPSender(p *Producer, stream, n, seed uint64) *xpSender {
	s := &xpSender{
		p:       p,
		stream:  stream,
		lens:    newLengths(seed, p.r.SlotSize()),
		ops:     rand.New(rand.NewPCG(seed, producerStream)),
		n:       n,
		scratch: make([]byte, p.r.SlotSize()),
		bufs:    make([][]byte, xpMaxBatch),
		batch:   make([][]byte, 0, xpMaxBatch),
	}
	for i := range s.bufs {
		s.bufs[i] = make([]byte, p.r.SlotSize())
	}
	return s
}

func (s *xpSender) run(ctx context.Context) error {
	for s.k < s.n {
		m := xpProducerCalls[s.ops.IntN(len(xpProducerCalls))]
		if err := s.step(ctx, m); err != nil {
			return fmt.Errorf("stream %d, %s of message %d: %w", s.stream, m, s.k, err)
		}
	}
	return nil
}

func (s *xpSender) step(ctx context.Context, m string) error {
	p := s.p
	seq := xpSeq(s.stream, s.k)
	switch m {
	case "claim", "tryclaim":
		var buf []byte
		var err error
		if m == "tryclaim" {
			buf, err = p.TryClaim()
		}
		if m == "claim" || errors.Is(err, ErrFull) {
			buf, err = p.Claim(ctx)
		}
		if err != nil {
			return err
		}
		if s.ops.IntN(32) == 0 { // an aborted claim publishes nothing: its consumer skips it
			encodeMessage(buf, ^seq)
			p.Abort()
			s.aborted++
			return nil
		}
		n := s.lens.next()
		encodeMessage(buf[:n], seq)
		if err := p.Commit(n); err != nil {
			return err
		}
		s.k++
	case "claimbatch":
		b, err := p.ClaimBatch(ctx, 1+s.ops.IntN(xpMaxBatch))
		if err != nil {
			return err
		}
		k := int(min(uint64(b.Len()), s.n-s.k))
		switch s.ops.IntN(16) {
		case 0: // commit part of it: the rest is dropped
			k = s.ops.IntN(k + 1)
		case 1: // abort it all
			k = -1
		}
		for i := range b.Len() {
			slot := b.Slot(i)
			n := len(slot)
			if i < k {
				n = s.lens.next()
				encodeMessage(slot[:n], xpSeq(s.stream, s.k+uint64(i)))
			} else {
				encodeMessage(slot, ^xpSeq(s.stream, s.k+uint64(i))) // what no consumer may see
			}
			if err := b.SetLen(i, n); err != nil {
				return err
			}
		}
		if k < 0 {
			p.Abort()
			s.aborted += uint64(b.Len())
			return nil
		}
		p.CommitBatch(k)
		s.aborted += uint64(b.Len() - k)
		s.k += uint64(k)
	case "send", "trysend":
		n := s.lens.next()
		encodeMessage(s.scratch[:n], seq)
		var err error
		if m == "trysend" {
			err = p.TrySend(s.scratch[:n])
		}
		if m == "send" || errors.Is(err, ErrFull) {
			err = p.Send(ctx, s.scratch[:n])
		}
		if err != nil {
			return err
		}
		s.k++
	case "sendbatch":
		k := int(min(uint64(1+s.ops.IntN(xpMaxBatch)), s.n-s.k))
		s.batch = s.batch[:0]
		for i := range k {
			n := s.lens.next()
			encodeMessage(s.bufs[i][:n], xpSeq(s.stream, s.k+uint64(i)))
			s.batch = append(s.batch, s.bufs[i][:n])
		}
		for rest := s.batch; len(rest) > 0; {
			sent, err := p.SendBatch(ctx, rest)
			if err != nil {
				return err
			}
			if sent == 0 {
				return errors.New("SendBatch sent nothing and returned no error")
			}
			rest = rest[sent:]
		}
		s.k += uint64(k)
	default:
		return fmt.Errorf("unknown producer call %q", m)
	}
	return nil
}

// childXPProducer takes a producer, says "ready", waits for "go" on stdin
// (so that every producer is attached before any can close the stream),
// sends its stream, closes and prints "sent N aborted A".
func childXPProducer() int {
	a := childArgs(4)
	name, stream, n, seed := a[0], mustUint(a[1]), mustUint(a[2]), mustUint(a[3])
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	fmt.Println("ready")
	if in := bufio.NewScanner(os.Stdin); !in.Scan() || in.Text() != "go" {
		return childFail("want the line \"go\" on stdin, got %q (%v)", in.Text(), in.Err())
	}
	s := newXPSender(p, stream, n, seed)
	if err := s.run(context.Background()); err != nil {
		return childFail("producer: %v", err)
	}
	st := p.Stats()
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	fmt.Printf("sent %d aborted %d\n", st.Messages, s.aborted)
	return 0
}

// The consumer's calls, drawn at random for every message or batch; a Try…
// call that finds the ring empty falls back to its blocking twin.
var xpConsumerCalls = []string{"receive", "receive", "recv", "receivebatch", "tryreceive", "tryrecv"}

// xpReceiver checks every message one consumer gets: intact, from a known
// producer, not seen before by this consumer, and later in its producer's
// stream than the last one this consumer got from that producer.
type xpReceiver struct {
	c        *Consumer
	ops      *rand.Rand
	n        uint64     // messages per producer
	next     []uint64   // per producer: the least k this consumer may get next
	seen     [][]uint64 // per producer: bitmap of the k received
	received uint64
	buf      []byte
}

func newXPReceiver(c *Consumer, producers int, n, seed uint64) *xpReceiver {
	x := &xpReceiver{
		c:    c,
		ops:  rand.New(rand.NewPCG(seed, consumerStream)),
		n:    n,
		next: make([]uint64, producers),
		seen: make([][]uint64, producers),
		buf:  make([]byte, c.r.SlotSize()),
	}
	for i := range x.seen {
		x.seen[i] = make([]uint64, (n+63)/64)
	}
	return x
}

func (x *xpReceiver) accept(m []byte) error {
	seq, err := xpCheck(m)
	if err != nil {
		return err
	}
	s, k := xpSplit(seq)
	if s >= uint64(len(x.seen)) || k >= x.n {
		return fmt.Errorf("seq=%#x is no producer's message (an aborted or dropped claim published?)", seq)
	}
	if x.seen[s][k/64]&(1<<(k%64)) != 0 {
		return fmt.Errorf("%s received twice by this consumer", xpName(seq))
	}
	if k < x.next[s] {
		return fmt.Errorf("%s after message %d of the same producer (per-producer order broken)", xpName(seq), x.next[s]-1)
	}
	x.seen[s][k/64] |= 1 << (k % 64)
	x.next[s] = k + 1
	x.received++
	return nil
}

// step receives one message or one batch; ErrClosed at the end.
func (x *xpReceiver) step(ctx context.Context) error {
	c := x.c
	switch m := xpConsumerCalls[x.ops.IntN(len(xpConsumerCalls))]; m {
	case "receive", "tryreceive":
		var msg []byte
		var err error
		if m == "tryreceive" {
			msg, err = c.TryReceive()
		}
		if m == "receive" || errors.Is(err, ErrEmpty) {
			msg, err = c.Receive(ctx)
		}
		if err != nil {
			return err
		}
		err = x.accept(msg)
		c.Release()
		return err
	case "recv", "tryrecv":
		var n int
		var err error
		if m == "tryrecv" {
			n, err = c.TryRecv(x.buf)
		}
		if m == "recv" || errors.Is(err, ErrEmpty) {
			n, err = c.Recv(ctx, x.buf)
		}
		if err != nil {
			return err
		}
		return x.accept(x.buf[:n])
	case "receivebatch":
		ms, err := c.ReceiveBatch(ctx, 1+x.ops.IntN(xpMaxBatch))
		if err != nil {
			return err
		}
		if ms.Len() < 1 {
			return fmt.Errorf("ReceiveBatch leased %d messages", ms.Len())
		}
		for i := range ms.Len() {
			msg, err := ms.At(i)
			if err == nil {
				err = x.accept(msg)
			}
			if err != nil {
				c.Release()
				return err
			}
		}
		c.Release()
		return nil
	default:
		return fmt.Errorf("unknown consumer call %q", m)
	}
}

// writeBitmaps stores the per-producer bitmaps, little-endian words, one
// producer after another.
func (x *xpReceiver) writeBitmaps(path string) error {
	var b []byte
	for _, words := range x.seen {
		for _, w := range words {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	return os.WriteFile(path, b, 0o600)
}

// childXPConsumer takes a consumer, says "ready", receives with calls drawn
// at random until the stream ends with ErrClosed (twice, and io.EOF too),
// writes its bitmaps to the file the parent named and prints
// "received N skipped S".
func childXPConsumer() int {
	a := childArgs(5)
	name, producers, n, seed, out := a[0], int(mustUint(a[1])), mustUint(a[2]), mustUint(a[3]), a[4]
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	c, err := r.Consumer()
	if err != nil {
		return childFail("Consumer: %v", err)
	}
	fmt.Println("ready")
	ctx := context.Background()
	x := newXPReceiver(c, producers, n, seed)
	for {
		err := x.step(ctx)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			return childFail("after %d messages: %v", x.received, err)
		}
	}
	for _, call := range []string{"Receive", "TryRecv"} {
		var err error
		if call == "Receive" {
			_, err = c.Receive(ctx)
		} else {
			_, err = c.TryRecv(x.buf)
		}
		if !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
			return childFail("%s after the stream ended = %v, want ErrClosed (and io.EOF)", call, err)
		}
	}
	if err := x.writeBitmaps(out); err != nil {
		return childFail("%v", err)
	}
	st := c.Stats()
	if err := c.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	fmt.Printf("received %d skipped %d\n", x.received, st.Skipped)
	return 0
}

// TestMPMCExactlyOnceAcrossProcesses: 4 producer processes and 2 consumer
// processes on one MPMC ring, 10^7 messages in all (10^8 with
// SHMRING_LONG=1). Producers mix Send, TrySend, Claim/Commit, TryClaim,
// aborted claims, ClaimBatch with whole, partial and aborted commits, and
// SendBatch; consumers mix Receive/Release, TryReceive, Recv, TryRecv and
// ReceiveBatch. Every message is intact (length, checksum, every byte), no
// consumer sees a message twice or a producer's messages out of order, no
// aborted or dropped claim is ever delivered, the two consumers' sets are
// disjoint and together hold every message sent, and both consumers end
// with ErrClosed once the last producer closed.
func TestMPMCExactlyOnceAcrossProcesses(t *testing.T) {
	xpExactlyOnce(t, MPMC, 4, 2, 10_000_000)
}

// TestMPSCExactlyOnceAcrossProcesses: the same with 4 producer processes
// and the single consumer of an MPSC ring, 2·10^6 messages.
func TestMPSCExactlyOnceAcrossProcesses(t *testing.T) {
	xpExactlyOnce(t, MPSC, 4, 1, 2_000_000)
}

func xpExactlyOnce(t *testing.T, kind Kind, producers, consumers int, total uint64) {
	hang := 5 * time.Minute // a hang guard, far beyond the ~15 s the default run takes on two cores
	if longRun() {
		total *= 10
		hang *= 10
	}
	proctest.Watchdog(t, hang)
	if raceEnabled {
		total /= 100
	}
	n := total / uint64(producers)
	seed := integritySeed()
	r := newTestRing(t, Options{Kind: kind, SlotSize: xpSlotSize, Slots: 1 << 10,
		MaxProducers: producers, MaxConsumers: consumers})
	dir := t.TempDir()
	start := time.Now()

	cs := make([]*proctest.Child, consumers)
	outs := make([]string, consumers)
	for i := range cs {
		outs[i] = filepath.Join(dir, fmt.Sprintf("consumer-%d", i))
		cs[i] = proctest.Start(t, "xp-consumer", r.Name(), strconv.Itoa(producers),
			strconv.FormatUint(n, 10), strconv.FormatUint(seed+100+uint64(i), 10), outs[i])
		cs[i].Expect("ready")
	}
	ps := make([]*proctest.Child, producers)
	for i := range ps {
		ps[i] = proctest.Start(t, "xp-producer", r.Name(), strconv.Itoa(i),
			strconv.FormatUint(n, 10), strconv.FormatUint(seed+uint64(i), 10))
		ps[i].Expect("ready")
	}
	for _, p := range ps { // every producer is attached: none can end the stream early
		if err := p.WriteLine("go"); err != nil {
			t.Fatal(err)
		}
	}
	var aborted uint64
	for i, p := range ps {
		line, err := p.ReadLine()
		if err != nil {
			t.Fatalf("producer %d: %v", i, err)
		}
		var sent, ab uint64
		if _, err := fmt.Sscanf(line, "sent %d aborted %d", &sent, &ab); err != nil || sent != n {
			t.Fatalf("producer %d said %q (%v), want \"sent %d aborted …\"", i, line, err, n)
		}
		aborted += ab
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	var received, skipped uint64
	for i, c := range cs {
		line, err := c.ReadLine()
		if err != nil {
			t.Fatalf("consumer %d: %v", i, err)
		}
		var got, sk uint64
		if _, err := fmt.Sscanf(line, "received %d skipped %d", &got, &sk); err != nil {
			t.Fatalf("consumer %d said %q: %v", i, line, err)
		}
		t.Logf("consumer %d received %d messages, skipped %d positions", i, got, sk)
		received += got
		skipped += sk
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)

	// The proof: per producer, the consumers' bitmaps are disjoint (no
	// message delivered twice across consumers) and their union is every
	// message 0..n-1 (none lost).
	words := int((n + 63) / 64)
	maps := make([][]byte, consumers)
	for i, out := range outs {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != producers*words*8 {
			t.Fatalf("consumer %d's bitmaps are %d bytes, want %d", i, len(b), producers*words*8)
		}
		maps[i] = b
	}
	for p := range producers {
		for w := range words {
			var union uint64
			for i := range maps {
				v := binary.LittleEndian.Uint64(maps[i][(p*words+w)*8:])
				if dup := union & v; dup != 0 {
					t.Fatalf("producer %d message %d delivered to two consumers", p, uint64(w)*64+uint64(bits.TrailingZeros64(dup)))
				}
				union |= v
			}
			want := ^uint64(0)
			if rest := n - uint64(w)*64; rest < 64 {
				want = 1<<rest - 1
			}
			if union != want {
				t.Fatalf("producer %d message %d lost: no consumer received it", p, uint64(w)*64+uint64(bits.TrailingZeros64(want&^union)))
			}
		}
	}
	if received != total {
		t.Errorf("consumers received %d messages in all, want %d", received, total)
	}
	if skipped != aborted {
		t.Errorf("consumers skipped %d positions, producers aborted or dropped %d claimed slots", skipped, aborted)
	}
	t.Logf("%d producers x %d consumers (%v): %d messages in %v (%.2f M msgs/s), %d aborted claims skipped, seed=%d",
		producers, consumers, kind, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds()/1e6, aborted, seed)
}
