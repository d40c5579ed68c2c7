package ring

// Helpers shared by the stream and cross-process tests (the message codec
// that makes loss, duplication, reordering and tearing visible, ring
// creation with cleanup, the child's side of the harness), and the test that
// a stream which never waits makes no system call across two processes.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

// hangBound arms every test that could hang: a guard, never a time limit.
const hangBound = 2 * time.Minute

func init() {
	proctest.Register("fill-until-full", childFillUntilFull)
}

// The message codec. Every stream test sends messages of this form:
//
//	[0:8)   sequence number, little-endian
//	[8:12)  the message's own length
//	[12:16) CRC-32C of [0:12) and [16:n)
//	[16:n)  a body derived from the sequence number alone
//
// so the receiver knows, without any shared state, what message number seq
// of length n must hold, byte for byte.
const msgHeaderSize = 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeMessage makes m message number seq, len(m) bytes long.
func encodeMessage(m []byte, seq uint64) {
	le := binary.LittleEndian
	le.PutUint64(m[0:], seq)
	le.PutUint32(m[8:], uint32(len(m)))
	fillBody(m[msgHeaderSize:], seq)
	le.PutUint32(m[12:], messageCRC(m))
}

func messageCRC(m []byte) uint32 {
	c := crc32.Update(0, castagnoli, m[:12])
	return crc32.Update(c, castagnoli, m[msgHeaderSize:])
}

// bodyWord is word i of message seq's body: splitmix64, so that neighbouring
// messages and neighbouring words share no pattern.
func bodyWord(seq uint64, i int) uint64 {
	z := seq*0x9e3779b97f4a7c15 + uint64(i+1)*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func fillBody(b []byte, seq uint64) {
	i := 0
	for ; len(b) >= 8; i++ {
		binary.LittleEndian.PutUint64(b, bodyWord(seq, i))
		b = b[8:]
	}
	w := bodyWord(seq, i)
	for j := range b {
		b[j] = byte(w >> (8 * j))
	}
}

// checkMessage reports how m differs from message number seq of wantLen
// bytes, or nil. It allocates only when it fails.
func checkMessage(m []byte, seq uint64, wantLen int) error {
	if len(m) < msgHeaderSize {
		return fmt.Errorf("message %d: length=%d, want %d (shorter than the message header)", seq, len(m), wantLen)
	}
	le := binary.LittleEndian
	if got := le.Uint64(m); got != seq {
		return fmt.Errorf("sequence=%d, want %d (a message lost, duplicated or reordered)", got, seq)
	}
	if len(m) != wantLen {
		return fmt.Errorf("message %d: length=%d, want %d", seq, len(m), wantLen)
	}
	if got := le.Uint32(m[8:]); got != uint32(len(m)) {
		return fmt.Errorf("message %d: length field=%d, length=%d (torn)", seq, got, len(m))
	}
	if got, want := le.Uint32(m[12:]), messageCRC(m); got != want {
		return fmt.Errorf("message %d: checksum=%#08x, computed %#08x (torn)", seq, got, want)
	}
	b := m[msgHeaderSize:]
	i := 0
	for ; len(b) >= 8; i++ {
		if got, want := le.Uint64(b), bodyWord(seq, i); got != want {
			return fmt.Errorf("message %d: body word %d=%#016x, want %#016x (torn)", seq, i, got, want)
		}
		b = b[8:]
	}
	w := bodyWord(seq, i)
	for j := range b {
		if b[j] != byte(w>>(8*j)) {
			return fmt.Errorf("message %d: body byte %d=%#02x, want %#02x (torn)", seq, msgHeaderSize+8*i+j, b[j], byte(w>>(8*j)))
		}
	}
	return nil
}

// newTestRing creates a ring file with a unique name and removes it when
// the test ends.
func newTestRing(t testing.TB, o Options) *Ring {
	t.Helper()
	name := uniqueName(t)
	r, err := Create(name, o)
	if err != nil {
		t.Fatalf("Create(%q, %+v) = %v, want a ring", name, o, err)
	}
	t.Cleanup(func() {
		r.Close()
		Remove(name)
	})
	return r
}

// The child's side. A child reports a failure on stderr and with a non-zero
// exit status, which the parent's Wait turns into a test failure.

func childFail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
	return 1
}

// childArgs returns the role's n arguments, or exits the child.
func childArgs(n int) []string {
	a := proctest.Args()
	if len(a) != n {
		fmt.Fprintf(os.Stderr, "child: got %d arguments %q, want %d\n", len(a), a, n)
		os.Exit(2)
	}
	return a
}

func mustUint(s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: argument %q: %v\n", s, err)
		os.Exit(2)
	}
	return v
}

// hangForever keeps a child alive, holding whatever it holds, until the
// parent kills it. (A bare select{} could trip the runtime's deadlock
// detector.)
func hangForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// parseStats reads a "stats" line a child printed with formatStats.
func parseStats(line string) (Stats, error) {
	var s Stats
	_, err := fmt.Sscanf(line, "stats messages=%d bytes=%d sleeps=%d wakes=%d full=%d empty=%d",
		&s.Messages, &s.Bytes, &s.Sleeps, &s.Wakes, &s.Full, &s.Empty)
	if err != nil {
		return s, fmt.Errorf("parse %q: %w", line, err)
	}
	return s, nil
}

func formatStats(s Stats) string {
	return fmt.Sprintf("stats messages=%d bytes=%d sleeps=%d wakes=%d full=%d empty=%d",
		s.Messages, s.Bytes, s.Sleeps, s.Wakes, s.Full, s.Empty)
}

// readStats reads the child's next stdout line as its stats.
func readStats(t *testing.T, c *proctest.Child) Stats {
	t.Helper()
	line, err := c.ReadLine()
	if err != nil {
		t.Fatalf("waiting for the child's stats: %v", err)
	}
	s, err := parseStats(line)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// How the cross-process "never waits" stream fills and drains each round.
var noWaitRounds = []string{"try", "blocking", "batch"}

// childFillUntilFull is the producer of TestStreamingThatNeverWaitsMakesNoSystemCallAcrossProcesses:
// for each line "go" from the parent it fills the ring (the parent has
// drained it) and prints how many messages it wrote.
func childFillUntilFull() int {
	a := childArgs(2)
	name, rounds := a[0], int(mustUint(a[1]))
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	ctx := context.Background()
	in := bufio.NewScanner(os.Stdin)
	msg := make([]byte, 32)
	seq := uint64(0)
	slots := r.Slots()
	for round := range rounds {
		if !in.Scan() || in.Text() != "go" {
			return childFail("round %d: want the line \"go\" on stdin, got %q (%v)", round, in.Text(), in.Err())
		}
		sent := 0
		switch noWaitRounds[round%len(noWaitRounds)] {
		case "try":
			for {
				encodeMessage(msg, seq)
				err := p.TrySend(msg)
				if errors.Is(err, ErrFull) {
					break
				}
				if err != nil {
					return childFail("round %d: TrySend: %v", round, err)
				}
				seq++
				sent++
			}
		case "blocking": // exactly as many as there is room for: Send never waits
			for range slots {
				encodeMessage(msg, seq)
				if err := p.Send(ctx, msg); err != nil {
					return childFail("round %d: Send: %v", round, err)
				}
				seq++
				sent++
			}
		case "batch":
			for sent < slots {
				b, err := p.ClaimBatch(ctx, min(64, slots-sent))
				if err != nil {
					return childFail("round %d: ClaimBatch: %v", round, err)
				}
				for i := range b.Len() {
					encodeMessage(b.Slot(i)[:len(msg)], seq+uint64(i))
					if err := b.SetLen(i, len(msg)); err != nil {
						return childFail("round %d: SetLen: %v", round, err)
					}
				}
				p.CommitBatch(b.Len())
				seq += uint64(b.Len())
				sent += b.Len()
			}
		}
		fmt.Printf("full %d\n", sent)
	}
	if !in.Scan() || in.Text() != "end" { // the parent has drained the last round
		return childFail("want the line \"end\" on stdin, got %q (%v)", in.Text(), in.Err())
	}
	st := p.Stats()
	if err := p.Close(); err != nil {
		return childFail("Close: %v", err)
	}
	fmt.Println(formatStats(st))
	return 0
}

// TestStreamingThatNeverWaitsMakesNoSystemCallAcrossProcesses: a child
// producer fills the ring while the parent's consumer is idle, then the
// parent drains it while the child is idle, round after round, through the
// copying, blocking and batch calls. Neither side ever finds the other
// waiting, so neither may sleep on or wake a futex: the data path of a ring
// that is neither full nor empty makes no system call.
func TestStreamingThatNeverWaitsMakesNoSystemCallAcrossProcesses(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const rounds = 6
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 1 << 16})
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	child := proctest.Start(t, "fill-until-full", r.Name(), strconv.Itoa(rounds))
	ctx := context.Background()
	buf := make([]byte, 64)
	seq := uint64(0)
	for round := range rounds {
		if err := child.WriteLine("go"); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("full %d", r.Slots())
		child.Expect(want)
		kind := noWaitRounds[round%len(noWaitRounds)]
		got := 0
		switch kind {
		case "try":
			for {
				n, err := c.TryRecv(buf)
				if errors.Is(err, ErrEmpty) {
					break
				}
				if err != nil {
					t.Fatalf("round %d: TryRecv: %v", round, err)
				}
				if err := checkMessage(buf[:n], seq, 32); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				seq++
				got++
			}
		case "blocking":
			for range r.Slots() {
				n, err := c.Recv(ctx, buf)
				if err != nil {
					t.Fatalf("round %d: Recv: %v", round, err)
				}
				if err := checkMessage(buf[:n], seq, 32); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				seq++
				got++
			}
		case "batch":
			for got < r.Slots() {
				ms, err := c.ReceiveBatch(ctx, min(64, r.Slots()-got))
				if err != nil {
					t.Fatalf("round %d: ReceiveBatch: %v", round, err)
				}
				for i := range ms.Len() {
					m, err := ms.At(i)
					if err != nil {
						t.Fatalf("round %d: At(%d): %v", round, i, err)
					}
					if err := checkMessage(m, seq, 32); err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					seq++
				}
				got += ms.Len()
				c.Release()
			}
		}
		if got != r.Slots() {
			t.Fatalf("round %d (%s): drained %d messages, want %d", round, kind, got, r.Slots())
		}
		if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
			t.Fatalf("round %d (%s): TryRecv after draining = %v, want ErrEmpty", round, kind, err)
		}
	}
	if err := child.WriteLine("end"); err != nil {
		t.Fatal(err)
	}
	ps := readStats(t, child)
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	cs := c.Stats()
	for _, s := range []struct {
		side string
		st   Stats
	}{{"producer (child)", ps}, {"consumer (parent)", cs}} {
		if s.st.Sleeps != 0 || s.st.Wakes != 0 {
			t.Errorf("%s: Sleeps=%d Wakes=%d, want 0 and 0 (a futex call on a path that never waits)", s.side, s.st.Sleeps, s.st.Wakes)
		}
	}
	if want := uint64(rounds * r.Slots()); ps.Messages != want || seq != want {
		t.Errorf("producer sent %d, consumer got %d, want %d each", ps.Messages, seq, want)
	}
}

// spinner backs off in a Try… loop: a yield each time, and every few
// thousand rounds a look at whether the peer process is still there, so that
// a dead peer fails the test instead of spinning it forever. Once it has
// seen the peer gone it allows one more try (the peer may have closed the
// stream and exited since the last one) before it gives up.
type spinner struct {
	n       int
	child   *proctest.Child
	sawExit bool
}

func (s *spinner) spin() error {
	s.n++
	runtime.Gosched()
	if s.sawExit {
		return fmt.Errorf("the peer process exited while this side waited for it: %v", s.child.Wait())
	}
	if s.n&4095 == 0 && s.child != nil && s.child.Exited() {
		s.sawExit = true
	}
	return nil
}

// TestMessageCodecCatchesEveryChange checks the oracle the stream tests
// rely on: a message passes only as itself, and any one changed byte, a
// wrong sequence number or a wrong length is reported.
func TestMessageCodecCatchesEveryChange(t *testing.T) {
	for _, n := range []int{msgHeaderSize, msgHeaderSize + 1, 63, 64, 256} {
		m := make([]byte, n)
		encodeMessage(m, 12345)
		if err := checkMessage(m, 12345, n); err != nil {
			t.Fatalf("an intact %d-byte message: %v", n, err)
		}
		if err := checkMessage(m, 12346, n); err == nil {
			t.Errorf("a %d-byte message passed as the next one", n)
		}
		if err := checkMessage(m[:n-1], 12345, n); err == nil {
			t.Errorf("a %d-byte message cut by one byte passed", n)
		}
		for i := range m {
			for _, mask := range []byte{0x01, 0x80} {
				m[i] ^= mask
				if err := checkMessage(m, 12345, n); err == nil {
					t.Errorf("a %d-byte message with byte %d xor %#02x passed", n, i, mask)
				}
				m[i] ^= mask
			}
		}
	}
	a, b := make([]byte, 64), make([]byte, 64)
	encodeMessage(a, 1)
	encodeMessage(b, 2)
	copy(a[32:], b[32:]) // the tail of another message: a torn read
	if err := checkMessage(a, 1, 64); err == nil {
		t.Error("a message with another's tail passed")
	}
}
