package ring

// Integrity across two real processes: a child produces, the parent
// consumes and checks every message against what the child must have sent.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

func init() {
	proctest.Register("integrity-producer", childIntegrityProducer)
}

// integritySeed seeds every stream; SHMRING_SEED overrides it to replay a
// failure or explore others. Each stream's lengths, batch sizes and choice
// of calls follow from it, so a run is reproducible.
func integritySeed() uint64 {
	if s := os.Getenv("SHMRING_SEED"); s != "" {
		if v, err := strconv.ParseUint(s, 0, 64); err == nil {
			return v
		}
	}
	return 0x5eed_0f_5_e_a5
}

// longRun scales stream lengths up tenfold when SHMRING_LONG=1.
func longRun() bool { return os.Getenv("SHMRING_LONG") == "1" }

// PRNG streams derived from one seed, one per purpose, so that the
// receiver's prediction of lengths does not depend on how either side
// chose its calls.
const (
	lengthStream   = 1
	producerStream = 2
	consumerStream = 3
)

// lengths predicts message lengths: uniform in [msgHeaderSize, slotSize],
// or on a record ring skewed over [0, MaxMessage] (recLength).
type lengths struct {
	r       *rand.Rand
	span    int
	records bool
}

func newLengths(seed uint64, slotSize int) lengths {
	return lengths{r: rand.New(rand.NewPCG(seed, lengthStream)), span: slotSize - msgHeaderSize + 1}
}

// lengthsFor are the lengths of a stream through r.
func lengthsFor(r *Ring, seed uint64) lengths {
	if r.Records() {
		return lengths{r: rand.New(rand.NewPCG(seed, lengthStream)), span: r.MaxMessage(), records: true}
	}
	return newLengths(seed, r.SlotSize())
}

func (l lengths) next() int {
	if l.records {
		return recLength(l.r, l.span)
	}
	return msgHeaderSize + l.r.IntN(l.span)
}

// maxBatch bounds the batches both sides ask for.
const maxBatch = 64

// The producer's calls. "mixed" picks one of the others for every step.
var producerModes = []string{"claim", "tryclaim", "claimn", "claimbatch", "send", "trysend", "sendbatch"}

// streamSender writes messages 0..n-1 of a stream.
type streamSender struct {
	p       *Producer
	lens    lengths
	ops     *rand.Rand
	seq, n  uint64
	scratch []byte
	bufs    [][]byte
	batch   [][]byte
}

func newStreamSender(p *Producer, seed, n uint64) *streamSender {
	s := &streamSender{
		p:       p,
		lens:    lengthsFor(p.r, seed),
		ops:     rand.New(rand.NewPCG(seed, producerStream)),
		n:       n,
		scratch: make([]byte, p.r.SlotSize()),
		bufs:    make([][]byte, maxBatch),
		batch:   make([][]byte, 0, maxBatch),
	}
	for i := range s.bufs {
		s.bufs[i] = make([]byte, p.r.SlotSize())
	}
	return s
}

// run sends the whole stream with mode's calls.
func (s *streamSender) run(ctx context.Context, mode string) error {
	for s.seq < s.n {
		m := mode
		if mode == "mixed" {
			m = producerModes[s.ops.IntN(len(producerModes))]
		}
		if err := s.step(ctx, m); err != nil {
			return fmt.Errorf("%s, message %d: %w", m, s.seq, err)
		}
	}
	return nil
}

// step sends one message, or one batch, with call m.
func (s *streamSender) step(ctx context.Context, m string) error {
	p := s.p
	switch m {
	case "claim", "tryclaim":
		var buf []byte
		var err error
		if m == "claim" {
			buf, err = p.Claim(ctx)
		} else {
			for buf, err = p.TryClaim(); errors.Is(err, ErrFull); buf, err = p.TryClaim() {
				spin()
			}
		}
		if err != nil {
			return err
		}
		if s.ops.IntN(16) == 0 { // an aborted claim publishes nothing
			encodeAny(buf, ^s.seq)
			p.Abort()
			return nil
		}
		n := s.lens.next()
		encodeAny(buf[:n], s.seq)
		if err := p.Commit(n); err != nil {
			return err
		}
		s.seq++
	case "claimn": // exactly the message's bytes; now and then more, committed short
		n := s.lens.next()
		claim := n
		if s.ops.IntN(8) == 0 {
			claim = n + s.ops.IntN(p.r.MaxMessage()-n+1)
		}
		buf, err := p.ClaimN(ctx, claim)
		if err != nil {
			return err
		}
		if len(buf) != claim {
			return fmt.Errorf("ClaimN(%d) gave %d bytes", claim, len(buf))
		}
		encodeAny(buf[:n], s.seq)
		if err := p.Commit(n); err != nil {
			return err
		}
		s.seq++
	case "claimbatch":
		b, err := p.ClaimBatch(ctx, 1+s.ops.IntN(maxBatch))
		if err != nil {
			return err
		}
		k := int(min(uint64(b.Len()), s.n-s.seq))
		switch s.ops.IntN(8) {
		case 0: // commit only part of it: the rest is dropped
			k = s.ops.IntN(k + 1)
		case 1: // abort it all
			k = -1
		}
		for i := range b.Len() {
			slot := b.Slot(i)
			n := len(slot)
			if i < k {
				n = s.lens.next()
				encodeAny(slot[:n], s.seq+uint64(i))
			} else {
				encodeAny(slot, ^(s.seq + uint64(i))) // what must never be seen
			}
			if err := b.SetLen(i, n); err != nil {
				return err
			}
		}
		if k < 0 {
			p.Abort()
			return nil
		}
		p.CommitBatch(k)
		s.seq += uint64(k)
	case "send", "trysend":
		n := s.lens.next()
		encodeAny(s.scratch[:n], s.seq)
		if m == "send" {
			if err := p.Send(ctx, s.scratch[:n]); err != nil {
				return err
			}
		} else {
			err := p.TrySend(s.scratch[:n])
			for ; errors.Is(err, ErrFull); err = p.TrySend(s.scratch[:n]) {
				spin()
			}
			if err != nil {
				return err
			}
		}
		s.seq++
	case "sendbatch":
		k := int(min(uint64(1+s.ops.IntN(maxBatch)), s.n-s.seq))
		s.batch = s.batch[:0]
		for i := range k {
			n := s.lens.next()
			encodeAny(s.bufs[i][:n], s.seq+uint64(i))
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
		s.seq += uint64(k)
	default:
		return fmt.Errorf("unknown producer mode %q", m)
	}
	return nil
}

// spin yields in a producer's Try… loop. The producer is the child: if the
// parent dies, Pdeathsig ends it, so it needs no check of its own.
func spin() { runtime.Gosched() }

// The consumer's calls; "recvshort" first offers Recv a buffer one byte too
// small (the message must stay for the next call). "mixed" picks one of
// them for every step.
var consumerModes = []string{"receive", "tryreceive", "receivebatch", "recv", "tryrecv", "recvshort"}

// streamReceiver reads messages 0..n-1 of a stream and checks each.
type streamReceiver struct {
	c      *Consumer
	lens   lengths
	ops    *rand.Rand
	seq, n uint64
	next   int // predicted length of message seq; -1 when not drawn yet
	buf    []byte
	sp     spinner
}

func newStreamReceiver(c *Consumer, seed, n uint64, child *proctest.Child) *streamReceiver {
	return &streamReceiver{
		c:    c,
		lens: lengthsFor(c.r, seed),
		ops:  rand.New(rand.NewPCG(seed, consumerStream)),
		n:    n,
		buf:  make([]byte, c.r.SlotSize()),
		sp:   spinner{child: child},
		next: -1,
	}
}

// wantLen is the length message seq must have.
func (s *streamReceiver) wantLen() int {
	if s.next < 0 {
		s.next = s.lens.next()
	}
	return s.next
}

// accept checks m as message seq and moves on to the next.
func (s *streamReceiver) accept(m []byte) error {
	if err := checkAny(m, s.seq, s.wantLen()); err != nil {
		return err
	}
	s.seq++
	s.next = -1
	return nil
}

func (s *streamReceiver) run(ctx context.Context, mode string) error {
	for s.seq < s.n {
		m := mode
		if mode == "mixed" {
			m = consumerModes[s.ops.IntN(len(consumerModes))]
		}
		if err := s.step(ctx, m); err != nil {
			return fmt.Errorf("%s, message %d of %d: %w", m, s.seq, s.n, err)
		}
	}
	return nil
}

func (s *streamReceiver) step(ctx context.Context, m string) error {
	c := s.c
	switch m {
	case "receive", "tryreceive":
		var msg []byte
		var err error
		if m == "receive" {
			msg, err = c.Receive(ctx)
		} else {
			for msg, err = c.TryReceive(); errors.Is(err, ErrEmpty); msg, err = c.TryReceive() {
				if err := s.sp.spin(); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
		err = s.accept(msg)
		c.Release()
		return err
	case "receivebatch":
		ms, err := c.ReceiveBatch(ctx, 1+s.ops.IntN(maxBatch))
		if err != nil {
			return err
		}
		if ms.Len() < 1 || uint64(ms.Len()) > s.n-s.seq {
			return fmt.Errorf("ReceiveBatch leased %d messages with %d left in the stream", ms.Len(), s.n-s.seq)
		}
		for i := range ms.Len() {
			msg, err := ms.At(i)
			if err == nil {
				err = s.accept(msg)
			}
			if err != nil {
				return err
			}
		}
		c.Release()
	case "recv", "tryrecv", "recvshort":
		buf := s.buf
		if m == "recvshort" && s.wantLen() == 0 {
			m = "recv" // no buffer is short for an empty message
		}
		if m == "recvshort" {
			n, err := c.Recv(ctx, buf[:s.wantLen()-1])
			if !errors.Is(err, io.ErrShortBuffer) {
				return fmt.Errorf("Recv into %d bytes for a %d-byte message = %d, %v; want io.ErrShortBuffer", s.wantLen()-1, s.wantLen(), n, err)
			}
			m = "recv"
		}
		var n int
		var err error
		if m == "recv" {
			n, err = c.Recv(ctx, buf)
		} else {
			for n, err = c.TryRecv(buf); errors.Is(err, ErrEmpty); n, err = c.TryRecv(buf) {
				if err := s.sp.spin(); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
		return s.accept(buf[:n])
	default:
		return fmt.Errorf("unknown consumer mode %q", m)
	}
	return nil
}

// end checks that the stream ends here: the next call of mode's kind
// returns ErrClosed, which is also io.EOF, and so does the one after.
func (s *streamReceiver) end(ctx context.Context, mode string) error {
	for range 2 {
		var err error
		for {
			switch mode {
			case "tryreceive", "mixed":
				_, err = s.c.TryReceive()
			case "tryrecv":
				_, err = s.c.TryRecv(s.buf)
			case "receivebatch":
				_, err = s.c.ReceiveBatch(ctx, maxBatch)
			case "recv":
				_, err = s.c.Recv(ctx, s.buf)
			default:
				_, err = s.c.Receive(ctx)
			}
			if !errors.Is(err, ErrEmpty) {
				break
			}
			if err := s.sp.spin(); err != nil {
				return err
			}
		}
		if !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
			return fmt.Errorf("after the last of %d messages: %v, want ErrClosed (and io.EOF)", s.n, err)
		}
	}
	return nil
}

// childIntegrityProducer sends a stream into an existing ring and closes it.
func childIntegrityProducer() int {
	a := childArgs(4)
	name, mode, n, seed := a[0], a[1], mustUint(a[2]), mustUint(a[3])
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	if err := newStreamSender(p, seed, n).run(context.Background(), mode); err != nil {
		return childFail("producer: %v", err)
	}
	st := p.Stats()
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	fmt.Println(formatStats(st))
	return 0
}

// TestIntegrityAcrossTwoProcesses streams messages of random lengths from a
// child process to the parent through every pair of write and read calls,
// and checks each message's sequence number, length, checksum and every
// byte: no message is lost, duplicated, reordered or torn, aborted and
// dropped claims publish nothing, and the stream ends with ErrClosed after
// exactly the messages sent. Together the cases move 10^7 messages (10^8
// with SHMRING_LONG=1).
func TestIntegrityAcrossTwoProcesses(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const total = 10_000_000
	cases := []struct {
		name     string
		producer string
		consumer string
		share    int // of total, in tenths
	}{
		{"Claim and Commit to Receive and Release", "claim", "receive", 2},
		{"ClaimBatch and CommitBatch to ReceiveBatch", "claimbatch", "receivebatch", 2},
		{"Send to Recv", "send", "recv", 2},
		{"SendBatch to ReceiveBatch", "sendbatch", "receivebatch", 1},
		{"TrySend to TryRecv", "trysend", "tryrecv", 1},
		{"TryClaim to TryReceive", "tryclaim", "tryreceive", 1},
		{"every call mixed at random on both sides", "mixed", "mixed", 1},
	}
	seed := integritySeed()
	sum := 0
	for _, tc := range cases {
		sum += tc.share
	}
	if sum != 10 {
		t.Fatalf("shares add up to %d tenths, want 10", sum)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := uint64(total / 10 * tc.share)
			if longRun() {
				n *= 10
			}
			if raceEnabled {
				n /= 100
			}
			seed := seed + uint64(i)
			r := newTestRing(t, Options{Kind: SPSC, SlotSize: 256, Slots: 1 << 12})
			streamFromChild(t, r, tc.producer, tc.consumer, n, seed)
		})
	}
}

// streamFromChild has a child produce n messages from seed into r through
// the producer calls named, receives them here through the consumer calls
// named, checking each (streamReceiver), and checks that both sides'
// Stats count exactly n.
func streamFromChild(t *testing.T, r *Ring, producer, consumer string, n, seed uint64) {
	t.Helper()
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	child := proctest.Start(t, "integrity-producer", r.Name(), producer,
		strconv.FormatUint(n, 10), strconv.FormatUint(seed, 10))
	ctx := context.Background()
	rx := newStreamReceiver(c, seed, n, child)
	if err := rx.run(ctx, consumer); err != nil {
		t.Fatalf("seed=%d: %v", seed, err)
	}
	if err := rx.end(ctx, consumer); err != nil {
		t.Fatalf("seed=%d: %v", seed, err)
	}
	ps := readStats(t, child)
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	if ps.Messages != n || c.Stats().Messages != n {
		t.Errorf("Stats().Messages: producer %d, consumer %d, want %d", ps.Messages, c.Stats().Messages, n)
	}
	t.Logf("%d messages, seed=%d; producer %+v; consumer %+v", n, seed, ps, c.Stats())
}
